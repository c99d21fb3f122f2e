/**
 * A frontend's first flow, end to end, against the typed client: create a project, give it a style,
 * put a script, start the preview (pass 1), follow the job's events, then read the entities found.
 * `make client-check` type-checks this file, so it breaks the build when the API changes under it.
 */
import { createFilmAssetsClient, followJob, jobEventsUrl, type Job } from "../src/index";

const SCRIPT = `Title: Night Shift

INT. DINER - NIGHT

MARA, a waitress in a yellow raincoat, wipes the counter. A RADIO crackles.

MARA
Last call.
`;

export async function firstFlow(baseUrl: string, token: string): Promise<string[]> {
  const api = createFilmAssetsClient({ baseUrl, token });

  const project = await api.POST("/v1/projects", { body: { title: "Night Shift", aspect_ratio: "16:9" } });
  if (!project.data) throw new Error(project.error?.error.message ?? "could not create the project");
  const pid = project.data.id;

  // The preview needs a style: take the first built-in preset.
  const capsules = await api.GET("/v1/style-capsules");
  const preset = capsules.data?.find((c) => c.preset);
  if (!preset) throw new Error("no preset style capsule");
  await api.PUT("/v1/projects/{pid}/style", {
    params: { path: { pid } },
    body: { capsule_id: preset.id },
  });

  const script = await api.PUT("/v1/projects/{pid}/script", {
    params: { path: { pid } },
    body: { text: SCRIPT, format: "fountain" },
  });
  if (script.error) throw new Error(script.error.error.message);

  const started = await api.POST("/v1/projects/{pid}/extract/preview", {
    params: { path: { pid } },
    headers: { "Idempotency-Key": `preview-${pid}` },
  });
  if (!started.data) throw new Error(started.error?.error.message ?? "could not start the preview");
  const job: Job = started.data.job;

  const last = await followJob(await jobEventsUrl(api, baseUrl, job.id), (event) => {
    console.log(`${event.status} ${Math.round((event.progress ?? 0) * 100)}% ${event.message ?? ""}`);
  });
  if (last.status !== "succeeded") throw new Error(`preview ${last.status}: ${JSON.stringify(last.error)}`);

  const preview = await api.GET("/v1/projects/{pid}/extract/preview", { params: { path: { pid } } });
  return (preview.data?.entities ?? []).map((e) => `${e.type}: ${e.name}`);
}
