import { z } from 'zod';

/** What a key may do (DESIGN §6). `admin` implies every other scope. */
export const Scope = z.enum([
  'claims:write',
  'denials:write',
  'confirmations:write',
  'retractions:write',
  'read',
  'admin',
]);
export type Scope = z.infer<typeof Scope>;

/** The authenticated caller: the key that signed the request. */
export interface Principal {
  readonly keyId: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  /** The party the key is bound to: it may only speak as that party. */
  readonly party?: string | undefined;
}

/**
 * Whether `principal` holds `scope` (`admin` holds them all).
 *
 * @example
 * ```ts
 * hasScope({ keyId: 'admin', name: 'admin', scopes: ['admin'] }, 'claims:write'); // true
 * ```
 */
export function hasScope(principal: Pick<Principal, 'scopes'>, scope: Scope): boolean {
  return principal.scopes.includes('admin') || principal.scopes.includes(scope);
}
