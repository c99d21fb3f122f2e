// The page's whole logic, in plain browser JavaScript (no build step): what a frontend does first.
// The API's address and the user's token come in the URL fragment, which is never sent to a server.
const params = new URLSearchParams(location.hash.slice(1));
const API = params.get("api");
const TOKEN = params.get("token");
const $ = (id) => document.getElementById(id);
let projectId = null;

async function api(method, path, { json, form, headers = {} } = {}) {
  const init = { method, headers: { Authorization: `Bearer ${TOKEN}`, ...headers } };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = form; // the browser sets the multipart boundary itself
  }
  const r = await fetch(`${API}${path}`, init);
  const body = r.status === 204 ? null : await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${body?.error?.code}: ${body?.error?.message}`);
  return { status: r.status, body, location: r.headers.get("Location") };
}

// The job's event stream. An EventSource cannot send an Authorization header: the page asks (with
// its bearer token) for a short-lived token scoped to this job, and the API answers the stream's URL.
async function eventsUrl(job) {
  const { body } = await api("POST", `/v1/jobs/${job.id}/events/token`);
  return `${API}${body.url}`;
}

// Follow a job to its end through EventSource, showing each event; resolves with the last one.
async function follow(job) {
  const url = await eventsUrl(job);
  return new Promise((resolve, reject) => {
    const source = new EventSource(url);
    const onEvent = (message) => {
      const event = JSON.parse(message.data);
      $("progress").value = event.progress;
      $("job-status").textContent = `${event.kind}: ${event.status}`;
      const pct = Math.round((event.progress ?? 0) * 100);
      line("events", `${message.type} ${event.status} ${pct}% ${event.message ?? ""}`);
      if (["succeeded", "failed", "cancelled"].includes(event.status)) {
        source.close();
        resolve(event);
      }
    };
    source.addEventListener("state", onEvent);
    source.addEventListener("progress", onEvent);
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) reject(new Error(`event stream of ${job.id} closed`));
    };
  });
}

function line(listId, text) {
  const li = document.createElement("li");
  li.textContent = text;
  $(listId).append(li);
}

// The project-wide stream: every job of the project and every carousel change, live. Opened once
// the project exists, so nothing that happens after can be missed (a job's own stream opens only
// after the job was created and may just see it end).
async function openProjectStream() {
  const { body } = await api("POST", `/v1/projects/${projectId}/events/token`);
  const source = new EventSource(`${API}${body.url}`);
  source.addEventListener("ready", () => {
    $("project-stream").textContent = "live";
  });
  source.addEventListener("job", (message) => {
    const e = JSON.parse(message.data);
    const pct = e.progress == null ? "" : ` ${Math.round(e.progress * 100)}%`;
    line("project-events", `job ${e.kind} ${e.status}${pct}`);
  });
  source.addEventListener("attempt", (message) => {
    const e = JSON.parse(message.data);
    line("project-events", `attempt ${e.change} #${e.attempt_number ?? ""}`);
  });
}

function show(error) {
  $("error").textContent = String(error.message ?? error);
}

function button(id, action) {
  $(id).addEventListener("click", () => action().catch(show));
}

button("create", async () => {
  const { body } = await api("POST", "/v1/projects", { json: { title: $("title").value } });
  projectId = body.id;
  // A preview needs a style: the first built-in preset will do.
  const capsules = (await api("GET", "/v1/style-capsules")).body;
  await api("PUT", `/v1/projects/${projectId}/style`, { json: { capsule_id: capsules.find((c) => c.preset).id } });
  await openProjectStream();
  $("project-id").textContent = projectId;
});

button("upload-script", async () => {
  const { status, body } = await api("PUT", `/v1/projects/${projectId}/script`, {
    json: { text: $("script").value },
  });
  // 201: parsed at once; 202: a parse job (big scripts) to follow first.
  if (status === 202) await follow(body.job);
  const scenes = (await api("GET", `/v1/projects/${projectId}/scenes`)).body;
  $("script-status").textContent = `scenes: ${scenes.total}`;  // the list is paged; total counts all
});

button("preview", async () => {
  const { body, location } = await api("POST", `/v1/projects/${projectId}/extract/preview`, {
    headers: { "Idempotency-Key": crypto.randomUUID() },
  });
  if (location !== `/v1/jobs/${body.job.id}`) throw new Error(`Location not readable: ${location}`);
  const last = await follow(body.job);
  if (last.status !== "succeeded") throw new Error(`preview ${last.status}`);
  const preview = (await api("GET", `/v1/projects/${projectId}/extract/preview`)).body;
  $("entities").replaceChildren(
    ...preview.entities.map((e) => {
      const li = document.createElement("li");
      li.textContent = `${e.type}: ${e.name}`;
      li.dataset.type = e.type;
      return li;
    }),
  );
});

button("confirm", async () => {
  await api("POST", `/v1/projects/${projectId}/extract/confirm`, { json: {} });
  const assets = (await api("GET", `/v1/projects/${projectId}/assets?type=character`)).body;
  $("asset").replaceChildren(
    ...assets.items.map((a) => {
      const option = document.createElement("option");
      option.value = a.id;
      option.textContent = a.name;
      return option;
    }),
  );
});

async function refreshCarousel() {
  const aid = $("asset").value;
  const { body } = await api("GET", `/v1/projects/${projectId}/assets/${aid}/attempts`);
  $("carousel").replaceChildren(
    ...body.items.map((attempt) => {
      const img = document.createElement("img");
      img.src = attempt.thumbnail_url ?? attempt.image_url; // signed: no token needed
      img.alt = `${attempt.source} #${attempt.attempt_number}`;
      img.className = attempt.selected ? "selected" : "";
      return img;
    }),
  );
}

$("image").addEventListener("change", () =>
  (async () => {
    const form = new FormData();
    form.append("file", $("image").files[0]);
    const aid = $("asset").value;
    const { body } = await api("POST", `/v1/projects/${projectId}/assets/${aid}/attempts/upload`, { form });
    const last = await follow(body.job);
    $("upload-status").textContent = `upload: ${last.status}`;
    await refreshCarousel();
  })().catch(show),
);
