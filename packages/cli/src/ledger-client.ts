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

  /** `POST` to a route that answers something other than a `WriteResult` (`/v1/admin/keys`). */
  async postJson<T>(path: string, body: unknown): Promise<T> {
    return (await this.#request('POST', path, body)) as T;
  }

  async get<T = Record<string, unknown>>(path: string): Promise<T> {
    return (await this.#request('GET', path)) as T;
  }

  /** `DELETE`; resolves when the ledger answers 2xx (e.g. `204`). */
  async delete(path: string): Promise<void> {
    await this.#request('DELETE', path);
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
    if (!response.ok) throw new LedgerApiError(response.status, problemOf(response, text));
    return text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : {};
  }
}

/** The problem body of an error answer; a proxy in between may answer with text or HTML instead. */
function problemOf(response: Response, text: string): Record<string, unknown> {
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json === 'object' && json !== null && !Array.isArray(json))
      return json as Record<string, unknown>;
  } catch {
    // Not JSON: described below.
  }
  return { title: response.statusText, detail: text.slice(0, 200).trim() };
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
