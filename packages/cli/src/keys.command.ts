import { parseArgs } from 'node:util';
import { LedgerApiError, LedgerClient } from './ledger-client.js';

/** Usage of `ledger keys`, also part of `ledger`'s own usage text. */
export const KEYS_USAGE = `  ledger keys create --name NAME --scope SCOPE [--scope SCOPE…] [--party PARTY] [--url URL] [--key KEY]
                                        create an API key; prints its secret once (the ledger keeps only a
                                        hash). SCOPE: claims:write denials:write confirmations:write
                                        retractions:write read admin (several, or comma-separated); PARTY
                                        binds the key: it may then only speak as that party
  ledger keys list [--url URL] [--key KEY]
                                        list the active keys as a table (never their secrets)
  ledger keys revoke KEYID [--url URL] [--key KEY]
                                        revoke a key at once: it gets 401 from then on
                                        URL defaults to http://HOST:PORT; KEY must be an admin key: --key,
                                        else LEDGER_API_KEY, LEDGER_ADMIN_KEY, or <LEDGER_DATA_DIR>/admin.key
`;

export interface KeysCommandIo {
  /** Receives the command's output, one line at a time (stdout). */
  readonly print: (line: string) => void;
  /** Receives warnings, errors and usage (stderr). */
  readonly warn: (line: string) => void;
  /**
   * The ledger's URL and the key to use when `--url` / `--key` are not given. Called only then, so that a
   * command given both runs without reading the environment.
   */
  readonly defaults: () => { readonly url: string; readonly key: string | undefined };
}

/** A key as `GET /v1/admin/keys` lists it. */
export interface ListedKey {
  readonly keyId: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly party?: string;
  readonly createdAt: string;
  readonly lastUsedAt?: string;
}

interface CreatedKey {
  readonly keyId: string;
  readonly key: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly party?: string;
}

/** A bad command line: usage and exit code 2. */
class UsageError extends Error {}

const CONNECTION = {
  url: { type: 'string' },
  key: { type: 'string' },
} as const;

// Names are chosen by admins but end up on a terminal: control characters (escape sequences) are shown as '?'.
const CONTROL = /\p{Cc}/gu;
const printable = (text: string) => text.replace(CONTROL, '?');

/**
 * The active keys as a table: a header row and one row per key, columns padded to their widest cell.
 *
 * @example
 * ```ts
 * formatKeyTable(keys); // ['KEY ID            NAME   SCOPES  PARTY  CREATED  LAST USED', 'admin  …']
 * ```
 */
export function formatKeyTable(keys: readonly ListedKey[]): string[] {
  const rows = [
    ['KEY ID', 'NAME', 'SCOPES', 'PARTY', 'CREATED', 'LAST USED'],
    ...keys.map((key) => [
      key.keyId,
      key.name,
      key.scopes.join(','),
      key.party ?? '-',
      key.createdAt,
      key.lastUsedAt ?? '-',
    ]),
  ].map((row) => row.map(printable));
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * `ledger keys create|list|revoke …` over the ledger's admin API (DESIGN §6). Resolves with the exit code: 0
 * done, 1 the ledger refused or could not be reached (the problem is printed with every bad field), 2 a bad
 * command line or no key (usage printed).
 *
 * @example
 * ```ts
 * process.exitCode = await runKeys(['list', '--url', 'http://127.0.0.1:8080'], { print, warn, defaults });
 * ```
 */
export async function runKeys(args: readonly string[], io: KeysCommandIo): Promise<number> {
  const [subcommand, ...rest] = args;
  let run: (client: LedgerClient) => Promise<void>;
  let connection: { url?: string | undefined; key?: string | undefined };
  try {
    switch (subcommand) {
      case 'create': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: {
            ...CONNECTION,
            name: { type: 'string' },
            scope: { type: 'string', multiple: true },
            party: { type: 'string' },
          },
        });
        const scopes = (values.scope ?? []).flatMap((scope) => scope.split(',')).filter((s) => s !== '');
        if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
        if (values.name === undefined) throw new UsageError('--name is required');
        if (scopes.length === 0) throw new UsageError('at least one --scope is required');
        const body = {
          name: values.name,
          scopes,
          ...(values.party === undefined ? {} : { party: values.party }),
        };
        run = (client) => create(client, body, io);
        connection = values;
        break;
      }
      case 'list': {
        const { values } = parseArgs({ args: rest, options: CONNECTION });
        run = (client) => list(client, io);
        connection = values;
        break;
      }
      case 'revoke': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: CONNECTION,
        });
        const [keyId] = positionals;
        if (keyId === undefined || positionals.length > 1) throw new UsageError('give exactly one KEYID');
        run = (client) => revoke(client, keyId, io);
        connection = values;
        break;
      }
      default:
        throw new UsageError(
          subcommand === undefined ? 'what to do with keys?' : `unknown keys command ${subcommand}`,
        );
    }
  } catch (error) {
    // Only the command line can be wrong here: a UsageError, or parseArgs' TypeError (ERR_PARSE_ARGS_*) for an
    // unknown option or a missing value.
    io.warn(`ledger keys: ${(error as Error).message}`);
    io.warn(`usage:\n${KEYS_USAGE}`);
    return 2;
  }

  const fallback = connection.url === undefined || connection.key === undefined ? io.defaults() : undefined;
  const url = connection.url ?? fallback!.url;
  const key = connection.key ?? fallback?.key;
  if (key === undefined) {
    io.warn('ledger keys: no API key: pass --key, or set LEDGER_API_KEY or LEDGER_ADMIN_KEY');
    return 2;
  }
  try {
    await run(new LedgerClient(url, key));
    return 0;
  } catch (error) {
    if (error instanceof LedgerApiError) {
      io.warn(`ledger keys ${subcommand}: ${error.message}`);
      if (error.status === 403) io.warn('key management needs a key with the admin scope');
      return 1;
    }
    // fetch reports an unreachable host or a bad URL as a TypeError whose cause says why.
    const cause = (error as { cause?: { message?: unknown } }).cause?.message;
    io.warn(
      `ledger keys ${subcommand}: cannot reach the ledger at ${url}: ${(error as Error).message}` +
        `${typeof cause === 'string' ? ` (${cause})` : ''}`,
    );
    return 1;
  }
}

async function create(
  client: LedgerClient,
  body: { name: string; scopes: string[]; party?: string },
  io: KeysCommandIo,
): Promise<void> {
  const created = await client.postJson<CreatedKey>('/v1/admin/keys', body);
  io.print(`created key ${created.keyId} (${printable(created.name)})`);
  io.print(`  scopes  ${created.scopes.join(', ')}`);
  if (created.party !== undefined) io.print(`  party   ${created.party}`);
  io.print(`  key     ${created.key}`);
  io.warn(
    'warning: this is the only time the secret key is shown; the ledger keeps only a hash of it. Store it ' +
      `now (a secret manager, not a shell history). If it leaks: ledger keys revoke ${created.keyId}`,
  );
}

async function list(client: LedgerClient, io: KeysCommandIo): Promise<void> {
  const { keys } = await client.get<{ keys: ListedKey[] }>('/v1/admin/keys');
  for (const line of formatKeyTable(keys)) io.print(line);
}

async function revoke(client: LedgerClient, keyId: string, io: KeysCommandIo): Promise<void> {
  await client.delete(`/v1/admin/keys/${encodeURIComponent(keyId)}`);
  io.print(`revoked key ${keyId}: it gets 401 from now on`);
}
