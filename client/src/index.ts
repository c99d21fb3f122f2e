/**
 * The film asset service's typed client.
 *
 * `schema.d.ts` is generated from the API's OpenAPI document (`make client`); never edit it by hand.
 * Calls go through openapi-fetch, so paths, parameters, bodies and answers are all checked by tsc:
 *
 *     const api = createFilmAssetsClient({ baseUrl: "http://127.0.0.1:8000", token });
 *     const { data, error } = await api.POST("/v1/projects", { body: { title: "Airplane" } });
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { components, operations, paths } from "./schema";

export type { components, operations, paths };
export type Schemas = components["schemas"];
export type Job = Schemas["JobOut"];
export type JobStatus = Job["status"];
export type ApiError = Schemas["ErrorBody"];
export type FilmAssetsClient = Client<paths>;

/** A job that reached one of these states changes no more. */
export const TERMINAL_STATUSES: readonly JobStatus[] = ["succeeded", "failed", "cancelled"];

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export interface ClientOptions {
  /** Where the API answers, e.g. `http://127.0.0.1:8000` (no trailing slash). */
  baseUrl: string;
  /** The user's bearer token (a Supabase access token in production), or a function that returns a
   * fresh one before each request. */
  token: string | (() => string | Promise<string>);
  /** Another fetch (tests, SSR); the global one by default. */
  fetch?: typeof globalThis.fetch;
}

export function createFilmAssetsClient(options: ClientOptions): FilmAssetsClient {
  const client = createClient<paths>({ baseUrl: options.baseUrl, fetch: options.fetch });
  const auth: Middleware = {
    async onRequest({ request }) {
      const token = typeof options.token === "function" ? await options.token() : options.token;
      request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  };
  client.use(auth);
  return client;
}

/**
 * The `data` of one Server-Sent Event of `GET /v1/jobs/{jid}/events`: the job's state (`event:
 * state`) or its progress while it runs (`event: progress`). The stream ends after a final state.
 */
export type JobEvent = Schemas["JobEventData"];

/**
 * The URL a browser's `EventSource` opens to follow one job: it carries a short-lived token scoped
 * to that job, asked for with the bearer token (an `EventSource` cannot send `Authorization`).
 */
export async function jobEventsUrl(api: FilmAssetsClient, baseUrl: string, jobId: string): Promise<string> {
  const { data, error } = await api.POST("/v1/jobs/{jid}/events/token", { params: { path: { jid: jobId } } });
  if (!data) throw new Error(error?.error.message ?? `no events token for job ${jobId}`);
  return `${baseUrl}${data.url}`;
}

/**
 * Follow a job's events until it ends; resolves with the last event. `url` comes from
 * `jobEventsUrl` (or a project's events token: it opens the events of any job of the project).
 */
export function followJob(url: string, onEvent?: (event: JobEvent) => void): Promise<JobEvent> {
  return new Promise((resolve, reject) => {
    const source = new EventSource(url);
    const handle = (message: MessageEvent<string>): void => {
      const event = JSON.parse(message.data) as JobEvent;
      onEvent?.(event);
      if (isTerminal(event.status)) {
        source.close();
        resolve(event);
      }
    };
    source.addEventListener("state", handle);
    source.addEventListener("progress", handle);
    source.onerror = () => {
      // EventSource reconnects by itself while the server is reachable; CLOSED means it gave up.
      if (source.readyState === EventSource.CLOSED) {
        reject(new Error(`event stream closed before the job ended: ${url}`));
      }
    };
  });
}
