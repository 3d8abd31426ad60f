import { z } from 'zod';

/**
 * The querystring of a route that takes no query parameters: an unknown one is a 400 naming it, as on every
 * other route, never silently ignored.
 *
 * @example
 * ```ts
 * app.get('/v1/integrity', { schema: { querystring: NoQuery } }, handler);
 * ```
 */
export const NoQuery = z.strictObject({});
