/** A problem+json answer from the ledger, surfaced as an error with its status and named fields. */
export class LedgerApiError extends Error {
  readonly status: number;
  readonly problem: Record<string, unknown>;

  constructor(status: number, problem: Record<string, unknown>) {
    const fields = Array.isArray(problem.errors)
      ? ` (${(problem.errors as Array<{ path: string; message: string }>).map((e) => `${e.path}: ${e.message}`).join('; ')})`
      : '';
    super(`${status} ${String(problem.title ?? '')}: ${String(problem.detail ?? '')}${fields}`);
    this.status = status;
    this.problem = problem;
  }
}

export interface WriteResult {
  readonly claimId: string;
  readonly eventId: string;
  readonly position: number;
  readonly revision: number;
}

/**
 * A minimal client of the ledger's HTTP API (DESIGN §6), on the platform's fetch.
 *
 * @example
 * const client = new LedgerClient('http://127.0.0.1:8080', process.env.LEDGER_API_KEY!);
 * const { claimId, position } = await client.post('/v1/claims', body);
 * const actor = await client.get(`/v1/actors/zirconium?minPosition=${position}`);
 */
export class LedgerClient {
  readonly #baseUrl: string;
  readonly #key: string;

  constructor(baseUrl: string, key: string) {
    this.#baseUrl = baseUrl.replace(/\/+$/, '');
    this.#key = key;
  }

  async post(path: string, body: unknown): Promise<WriteResult> {
    return (await this.#request('POST', path, body)) as WriteResult;
  }

  async get<T = Record<string, unknown>>(path: string): Promise<T> {
    return (await this.#request('GET', path)) as T;
  }

  async #request(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.#baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.#key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const json = text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (!response.ok) throw new LedgerApiError(response.status, json);
    return json;
  }
}

/** True when a ledger answers `GET /health` at `baseUrl`. */
export async function isLedgerUp(baseUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl.replace(/\/+$/, '')}/health`, {
      signal: AbortSignal.timeout(1000),
    });
    return response.ok;
  } catch {
    return false;
  }
}
