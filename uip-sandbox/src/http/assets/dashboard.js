// The sandbox dashboard (GET /_sandbox/ui). It talks only to the documented control API
// (/_sandbox/...) and business API (/v1/...) with the API key entered on the page.
// Every text from the server is rendered with textContent, never parsed as HTML.
// Live update: the page polls every POLL_MS (business, session list, the open session's journal
// and deliveries) and redraws a part only when its data changed.
"use strict";

(function () {
  const POLL_MS = 1000;
  const KEY_STORE = "uip-dashboard-key";

  const $ = (id) => document.getElementById(id);

  const state = {
    key: "",
    openId: null,
    personas: [],
    polling: false,
    timer: null,
    generation: 0, // bumped when the key changes: answers to an older key are dropped
    signatures: {}, // last rendered data per part, to redraw only on change
    faultChoice: new Map(), // delivery id -> the fault picked in its select
    openBodies: new Set(), // timeline items whose body is unfolded
    session: null, // the open session as the list shows it
  };

  // ---- HTTP ------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json", Authorization: "Bearer " + state.key };
    const init = { method, headers, cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch (_) {
      json = null;
    }
    if (!res.ok) {
      const code = json && typeof json.code === "string" ? json.code : "http/" + res.status;
      const msg = json && typeof json.error === "string" ? json.error : text.slice(0, 200) || res.statusText;
      throw new ApiError(res.status, code, msg);
    }
    return json;
  }

  // ---- small DOM helpers -----------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === "class") node.className = v;
        else if (k === "text") node.textContent = v;
        else if (k.startsWith("data-") || k.startsWith("aria-") || k === "role" || k === "title" || k === "type")
          node.setAttribute(k, String(v));
        else node[k] = v;
      }
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      node.append(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return node;
  }

  function setText(id, value) {
    $(id).textContent = value === undefined || value === null || value === "" ? "—" : String(value);
  }

  function notice(text, kind) {
    const n = $("notice");
    n.textContent = text || "";
    n.className = "notice" + (text ? " " + (kind || "info") : "");
  }

  function errorText(e) {
    if (e instanceof ApiError) return `${e.status} ${e.code}: ${e.message}`;
    return String((e && e.message) || e);
  }

  function fmtTime(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z").replace(/Z$/, " UTC");
  }

  /** The time of day alone when it is today (UTC), else the full time. */
  function fmtShort(iso) {
    const full = fmtTime(iso);
    const today = new Date().toISOString().slice(0, 10);
    return full.startsWith(today + " ") ? full.slice(11) : full;
  }

  function timeOf(iso) {
    const t = iso ? new Date(iso).getTime() : NaN;
    return Number.isNaN(t) ? Infinity : t;
  }

  function fmtCents(c) {
    if (typeof c !== "number") return "—";
    return `$${(c / 100).toFixed(2)} (${c} cents)`;
  }

  function fmtOffset(s) {
    if (typeof s !== "number") return "—";
    if (s === 0) return "0 s (real time)";
    const parts = [];
    let rest = Math.abs(s);
    for (const [unit, n] of [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]]) {
      if (rest >= n) {
        parts.push(Math.floor(rest / n) + " " + unit);
        rest %= n;
      }
    }
    return (s < 0 ? "−" : "+") + parts.join(" ") + ` (${s} s)`;
  }

  function mask(secret) {
    if (!secret) return "—";
    return secret.length > 14 ? secret.slice(0, 9) + "…" + secret.slice(-4) : "•".repeat(secret.length);
  }

  function prettyBody(text) {
    if (typeof text !== "string") return "";
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch (_) {
      return text;
    }
  }

  /** A folded body viewer whose open state survives redraws. */
  function bodyViewer(itemKey, label, text) {
    const d = el("details", { class: "body" });
    d.open = state.openBodies.has(itemKey);
    d.addEventListener("toggle", () => {
      if (d.open) state.openBodies.add(itemKey);
      else state.openBodies.delete(itemKey);
    });
    d.append(el("summary", { text: label }), el("pre", { class: "mono", text }));
    return d;
  }

  function changed(part, data) {
    const sig = JSON.stringify(data);
    if (state.signatures[part] === sig) return false;
    state.signatures[part] = sig;
    return true;
  }

  // ---- progress --------------------------------------------------------------------------------

  /** How many steps are verified, from the session view. */
  function doneSteps(s) {
    const n = s.step_count || 0;
    if (s.status === "completed") return n;
    const cur = typeof s.current_step === "number" ? s.current_step : 0;
    // A session at a gate (or stopped at one) has verified its current step.
    if (s.status === "awaiting_decision" || s.status === "stopped") return Math.min(cur + 1, n);
    return Math.min(cur, n);
  }

  function progressNode(s) {
    const n = s.step_count || 0;
    const done = doneSteps(s);
    const p = el("progress", { max: Math.max(n, 1), value: done, "aria-label": "steps verified" });
    return el("span", { class: "progress" }, p, ` ${done}/${n} verified`);
  }

  function stepsText(s) {
    const steps = Array.isArray(s.steps) ? s.steps : (s.primitives || []).map((p) => ({ primitive: p }));
    return steps
      .map((st, i) => {
        const mark = i === s.current_step && !["completed", "stopped", "failed", "expired"].includes(s.status) ? "▶ " : "";
        return mark + (st.primitive || "?") + (st.gate ? " (gate)" : "");
      })
      .join(" · ");
  }

  // ---- business --------------------------------------------------------------------------------

  async function loadBusiness(gen) {
    const b = await api("GET", "/_sandbox/business");
    if (gen !== state.generation) return;
    if (!changed("business", b)) return;
    setText("biz-name", b.name);
    setText("biz-id", b.business_id);
    $("biz-key").textContent = mask(state.key);
    setText("biz-webhook-url", b.webhook_url || "(none)");
    const secret = $("biz-secret");
    secret.dataset.secret = b.webhook_secret || "";
    showSecret($("secret-toggle").getAttribute("aria-pressed") === "true");
    setText("biz-balance", fmtCents(b.balance_cents));
    setText("biz-trust", b.trust);
    setText("biz-clock", fmtOffset(b.clock_offset_s));
  }

  function clearBusiness() {
    for (const id of ["biz-name", "biz-id", "biz-key", "biz-webhook-url", "biz-balance", "biz-trust", "biz-clock"]) {
      setText(id, null);
    }
    $("biz-secret").dataset.secret = "";
    showSecret(false);
  }

  function showSecret(show) {
    const secret = $("biz-secret");
    const value = secret.dataset.secret || "";
    secret.textContent = show ? value || "—" : mask(value);
    $("secret-toggle").setAttribute("aria-pressed", show ? "true" : "false");
    $("secret-toggle").textContent = show ? "hide" : "show";
  }

  // ---- session list ----------------------------------------------------------------------------

  function listQuery(extra) {
    const q = new URLSearchParams();
    const status = $("filter-status").value;
    const ref = $("filter-ref").value.trim();
    if (status) q.set("status", status);
    if (ref) q.set("client_reference_id", ref);
    if (extra) for (const [k, v] of Object.entries(extra)) q.set(k, v);
    const s = q.toString();
    return "/_sandbox/sessions" + (s ? "?" + s : "");
  }

  async function loadSessions(gen) {
    const list = await api("GET", listQuery({ limit: "100" }));
    if (gen !== state.generation) return [];
    const sessions = (list && Array.isArray(list.sessions)) ? list.sessions : [];
    if (changed("sessions", [sessions, state.openId])) renderSessions(sessions);
    return sessions;
  }

  function renderSessions(sessions) {
    const body = $("sessions-body");
    body.replaceChildren();
    $("sessions-empty").hidden = sessions.length > 0;
    for (const s of sessions) {
      const short = s.id.length > 16 ? s.id.slice(0, 9) + "…" + s.id.slice(-4) : s.id;
      const open = el("button", { type: "button", class: "link mono", text: short, title: s.id, "aria-label": "Open " + s.id });
      open.addEventListener("click", () => openSession(s.id, true));
      const row = el(
        "tr",
        {
          "data-testid": "session-row",
          "data-session-id": s.id,
          class: s.id === state.openId ? "selected" : "",
          "aria-current": s.id === state.openId ? "true" : null,
        },
        el("td", { "data-label": "Session" }, open),
        el("td", { "data-label": "Status" },
          el("span", { class: "badge s-" + s.status, "data-testid": "session-status", text: s.status })),
        el("td", { "data-label": "Progress" }, progressNode(s)),
        el("td", { "data-label": "Steps", text: stepsText(s) }),
        el("td", { "data-label": "Reference", class: "mono", text: s.client_reference_id || "—" }),
        el("td", { "data-label": "Created", text: fmtShort(s.created_at), title: fmtTime(s.created_at) }),
      );
      row.addEventListener("click", (ev) => {
        if (ev.target === open) return;
        openSession(s.id, true);
      });
      body.append(row);
    }
  }

  // ---- one session -----------------------------------------------------------------------------

  function openSession(id, scroll) {
    state.openId = id;
    // The address names the open session (never the key): a reload or a shared link reopens it.
    if (location.hash !== "#session=" + id) history.replaceState(null, "", "#session=" + encodeURIComponent(id));
    state.session = null;
    delete state.signatures.timeline;
    delete state.signatures.session;
    delete state.signatures.sessions;
    $("session-panel").hidden = false;
    $("session-id").textContent = id;
    $("timeline").replaceChildren();
    // In one column (phone width) the session is below the list: bring it into view.
    if (scroll && window.matchMedia("(max-width: 63.99rem)").matches) {
      $("session-panel").scrollIntoView({ block: "start" });
    }
    pollSoon(0);
  }

  async function loadSessionView(gen, sessions) {
    const id = state.openId;
    let s = sessions.find((x) => x.id === id);
    if (!s) {
      // Filtered out of the list: look for it among the newest sessions, unfiltered.
      try {
        const all = await api("GET", "/_sandbox/sessions?limit=500");
        s = ((all && all.sessions) || []).find((x) => x.id === id) || null;
      } catch (_) {
        s = null; // the list is unreadable: the timeline still shows
      }
    }
    if (gen !== state.generation || id !== state.openId) return;
    state.session = s;
    if (!changed("session", s)) return;
    renderSessionView(s);
  }

  function renderSessionView(s) {
    if (!s) {
      $("session-status").textContent = "unknown";
      $("session-progress").textContent = "not among this business's newest sessions";
      return;
    }
    const status = $("session-status");
    status.textContent = s.status;
    status.className = "badge s-" + s.status;
    $("session-progress").replaceChildren(progressNode(s));
    $("session-steps").textContent = stepsText(s);
    setText("session-ref", s.client_reference_id);
    setText("session-expires", fmtTime(s.expires_at));
    const gate = s.status === "awaiting_decision";
    $("continue").disabled = !gate;
    $("stop").disabled = !gate;
    const active = s.status === "created" || s.status === "in_progress";
    $("simulate").disabled = !active;
    const link = $("hosted-link");
    link.href = location.origin + "/s/" + encodeURIComponent(s.id);
    link.hidden = !active;
  }

  async function loadTimeline(gen) {
    const id = state.openId;
    const q = "session_id=" + encodeURIComponent(id);
    const [requests, deliveries] = await Promise.all([
      api("GET", "/_sandbox/requests?" + q + "&limit=1000").then(
        (r) => ({ ok: true, list: (r && r.requests) || [] }),
        (e) => ({ ok: false, error: e, list: [] }),
      ),
      api("GET", "/_sandbox/deliveries?" + q),
    ]);
    if (gen !== state.generation || id !== state.openId) return;
    const data = {
      requests: requests.list,
      journal: requests.ok ? null : errorText(requests.error),
      deliveries: (deliveries && deliveries.deliveries) || [],
      session: state.session,
    };
    if (!changed("timeline", data)) return;
    renderTimeline(data);
  }

  /** A state change an event announces, in words. */
  function stateChange(event, data) {
    const d = data || {};
    switch (event) {
      case "step.completed": {
        let what = `step ${d.stage} (${d.primitive}) verified`;
        if (typeof d.satisfied === "boolean") what += d.satisfied ? ", satisfied" : ", not satisfied";
        return what;
      }
      case "session.completed":
        return "session completed";
      case "session.stopped":
        return "session stopped at a gate";
      case "session.failed":
        return "session failed" + (d.reason ? `: ${d.reason}` : "");
      case "session.expired":
        return "session expired" + (d.reason ? ` (${d.reason})` : "");
      default:
        return event;
    }
  }

  function renderTimeline(data) {
    const items = [];
    let seq = 0;
    const s = data.session;
    if (s && s.created_at) {
      items.push({ t: timeOf(s.created_at), order: 1, seq: seq++, node: stateItem(s.created_at, "session created", "created") });
    }
    for (const r of data.requests) items.push({ t: timeOf(r.at), order: 0, seq: seq++, node: requestItem(r) });
    for (const d of data.deliveries) {
      const first = d.attempts && d.attempts.length ? d.attempts[0].at : null;
      let parsed = null;
      try {
        parsed = JSON.parse(d.body);
      } catch (_) {
        parsed = null;
      }
      const event = (parsed && parsed.event) || d.event;
      const t = first ? timeOf(first) : Infinity;
      items.push({ t, order: 1, seq: seq++, node: stateItem(first, stateChange(event, parsed && parsed.data), "event") });
      items.push({ t, order: 1, seq: seq++, node: deliveryItem(d) });
    }
    items.sort((a, b) => a.t - b.t || a.order - b.order || a.seq - b.seq);
    const list = $("timeline");
    const nodes = items.map((i) => i.node);
    if (data.journal) {
      nodes.unshift(el("li", { class: "item warn", text: "The request journal could not be read: " + data.journal }));
    }
    if (nodes.length === 0) nodes.push(el("li", { class: "item muted", text: "Nothing yet." }));
    list.replaceChildren(...nodes);
  }

  function stateItem(at, text, kind) {
    return el(
      "li",
      { class: "item state", "data-testid": "timeline-state", "data-kind": kind },
      el("div", { class: "when", text: at ? fmtTime(at) : "pending" }),
      el("div", { class: "what" }, el("span", { class: "tag", text: "state" }), " ", el("strong", { text })),
    );
  }

  function requestItem(r) {
    const path = r.path + (r.query ? "?" + r.query : "");
    const ok = r.status >= 200 && r.status < 300;
    const head = el(
      "div",
      { class: "what" },
      el("span", { class: "tag", text: "request" }),
      " ",
      el("strong", { class: "mono", text: `${r.method} ${path}` }),
      " → ",
      el("span", { class: ok ? "ok" : "bad", text: String(r.status) + (r.code ? " " + r.code : "") }),
      el("span", { class: "muted", text: ` · ${r.duration_ms} ms` }),
      r.idempotency_key ? el("span", { class: "muted", text: ` · Idempotency-Key ${r.idempotency_key}` }) : null,
    );
    const key = "req:" + r.id;
    const extras = [];
    if (r.headers && typeof r.headers === "object") {
      const lines = Object.entries(r.headers).map(([k, v]) => `${k}: ${v}`).join("\n");
      extras.push(bodyViewer(key + ":headers", "headers", lines));
    }
    if (typeof r.body === "string" && r.body !== "") {
      let label = "request body";
      if (r.body_encoding === "base64") label += " (base64)";
      if (r.body_truncated) label += " (truncated at 64 KiB)";
      extras.push(bodyViewer(key + ":body", label, r.body_encoding === "base64" ? r.body : prettyBody(r.body)));
    }
    return el(
      "li",
      { class: "item request", "data-testid": "timeline-request", "data-request-id": r.id },
      el("div", { class: "when", text: fmtTime(r.at) }),
      head,
      ...extras,
    );
  }

  function deliveryItem(d) {
    const attempts = el("ol", { class: "attempts" });
    (d.attempts || []).forEach((a, i) => {
      const ok = typeof a.status_code === "number" && a.status_code >= 200 && a.status_code < 300;
      const answer = typeof a.status_code === "number" ? String(a.status_code) : "error";
      attempts.append(
        el(
          "li",
          {
            class: "attempt " + (ok ? "ok" : "bad"),
            "data-testid": "delivery-attempt",
            "data-delivery-id": d.delivery_id,
            "data-status": answer,
          },
          el("span", { class: "muted", text: `#${i + 1} ` }),
          el("span", { text: fmtTime(a.at) }),
          " · ",
          el("strong", { text: answer }),
          a.error ? el("span", { class: "bad", text: " " + a.error }) : null,
          el("span", { class: "muted", text: ` · ${a.duration_ms} ms` }),
        ),
      );
    });
    if (!d.attempts || d.attempts.length === 0) attempts.append(el("li", { class: "muted", text: "no attempt yet" }));

    const select = el("select", { "data-testid": "redeliver-fault", "aria-label": "Fault for the redelivery" });
    for (const f of ["none", "bad_signature", "stale_timestamp", "duplicate"]) {
      select.append(el("option", { value: f, text: f }));
    }
    select.value = state.faultChoice.get(d.delivery_id) || "none";
    select.addEventListener("change", () => state.faultChoice.set(d.delivery_id, select.value));
    const button = el("button", { type: "button", "data-testid": "redeliver", text: "Redeliver" });
    button.addEventListener("click", () =>
      act(button, `redeliver ${d.delivery_id} (${select.value})`, () =>
        api("POST", "/_sandbox/deliveries/" + encodeURIComponent(d.delivery_id) + "/redeliver", { fault: select.value }),
      ),
    );

    const next = d.next_attempt_at ? el("span", { class: "muted", text: ` · next attempt ${fmtTime(d.next_attempt_at)}` }) : null;
    return el(
      "li",
      { class: "item delivery", "data-testid": "timeline-delivery", "data-delivery-id": d.delivery_id },
      el("div", { class: "when", text: d.attempts && d.attempts.length ? fmtTime(d.attempts[0].at) : "pending" }),
      el(
        "div",
        { class: "what" },
        el("span", { class: "tag", text: "delivery" }),
        " ",
        el("strong", { text: d.event }),
        " ",
        el("span", { class: "badge d-" + d.status, "data-testid": "delivery-status", text: d.status }),
        next,
      ),
      el("div", { class: "mono small", text: d.delivery_id }),
      attempts,
      bodyViewer("dlv:" + d.delivery_id, "body", prettyBody(d.body)),
      el("div", { class: "inline redeliver" }, select, button),
    );
  }

  // ---- polling ---------------------------------------------------------------------------------

  async function poll() {
    if (!state.key) return;
    if (state.polling) return;
    state.polling = true;
    const gen = state.generation;
    try {
      await loadBusiness(gen);
      let sessions = [];
      try {
        sessions = await loadSessions(gen);
      } catch (e) {
        if (gen === state.generation) {
          if (changed("sessions", "error")) $("sessions-body").replaceChildren();
          $("sessions-empty").hidden = false;
          $("sessions-empty").textContent = "The session list could not be read: " + errorText(e);
        }
      }
      if (state.openId) {
        await loadSessionView(gen, sessions);
        await loadTimeline(gen);
      }
      if (gen === state.generation) {
        $("live").textContent = `live · polling every ${POLL_MS / 1000} s · updated ${new Date().toLocaleTimeString()}`;
        $("live").className = "ok";
      }
    } catch (e) {
      // A fault of the page itself (not an API answer) goes to the console too.
      if (!(e instanceof ApiError)) console.error(e);
      if (gen === state.generation) {
        $("live").textContent = "not connected: " + errorText(e);
        $("live").className = "bad";
      }
    } finally {
      state.polling = false;
    }
  }

  function pollSoon(delay) {
    clearTimeout(state.timer);
    state.timer = setTimeout(async () => {
      await poll();
      pollSoon(POLL_MS);
    }, delay);
  }

  /** Runs an action, says how it went, and refreshes at once. */
  async function act(button, what, fn) {
    if (button) button.disabled = true;
    notice(what + "…", "info");
    try {
      const said = await fn();
      notice(typeof said === "string" ? said : what + ": done", "ok");
    } catch (e) {
      notice(what + ": " + errorText(e), "bad");
    } finally {
      if (button) button.disabled = false;
      pollSoon(0);
    }
  }

  // ---- wiring ----------------------------------------------------------------------------------

  function useKey(key) {
    state.key = key.trim();
    state.generation += 1;
    state.signatures = {};
    state.openId = null;
    clearBusiness();
    $("session-panel").hidden = true;
    $("sessions-body").replaceChildren();
    if (location.hash) history.replaceState(null, "", location.pathname + location.search);
    try {
      if (state.key) sessionStorage.setItem(KEY_STORE, state.key);
    } catch (_) {
      /* storage unavailable */
    }
    if (!state.key) {
      $("live").textContent = "enter an API key";
      return;
    }
    pollSoon(0);
  }

  async function loadPersonas() {
    const select = $("simulate-persona");
    try {
      const res = await fetch("/_sandbox/personas", { headers: { Accept: "application/json" } });
      const body = await res.json();
      state.personas = (body && body.personas) || [];
    } catch (_) {
      state.personas = [];
    }
    select.replaceChildren();
    const ids = state.personas.length ? state.personas.map((p) => p.id) : ["jane-doe"];
    for (const id of ids) {
      const p = state.personas.find((x) => x.id === id);
      select.append(el("option", { value: id, text: id, title: p ? p.description : "" }));
    }
    select.value = ids.includes("jane-doe") ? "jane-doe" : ids[0];
  }

  function init() {
    const input = $("api-key");
    let stored = null;
    try {
      stored = sessionStorage.getItem(KEY_STORE);
    } catch (_) {
      stored = null;
    }
    if (!input.value && stored) input.value = stored;

    $("key-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      useKey(input.value);
    });
    $("key-toggle").addEventListener("click", () => {
      const show = input.type === "password";
      input.type = show ? "text" : "password";
      $("key-toggle").textContent = show ? "Hide" : "Show";
      $("key-toggle").setAttribute("aria-pressed", show ? "true" : "false");
    });
    $("secret-toggle").addEventListener("click", () => {
      showSecret($("secret-toggle").getAttribute("aria-pressed") !== "true");
    });
    $("filter-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      delete state.signatures.sessions;
      pollSoon(0);
    });
    $("filter-status").addEventListener("change", () => {
      delete state.signatures.sessions;
      pollSoon(0);
    });
    $("clock-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const seconds = Number($("clock-seconds").value);
      act($("clock-advance"), `advance the clock by ${seconds} s`, async () => {
        const r = await api("POST", "/_sandbox/clock/advance", { seconds });
        return `clock advanced by ${seconds} s: the business's clock now reads ${fmtTime(r && r.now)}`;
      });
    });
    $("rotate-secret").addEventListener("click", () => {
      if (!window.confirm("Rotate the webhook secret? Receivers holding the old one will reject deliveries.")) return;
      act($("rotate-secret"), "rotate the webhook secret", () =>
        api("PATCH", "/_sandbox/business", { rotate_webhook_secret: true }),
      );
    });
    $("simulate-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const id = state.openId;
      if (!id) return;
      const persona = $("simulate-persona").value;
      const action = $("simulate-action").value;
      act($("simulate"), `simulate ${action} as ${persona}`, () =>
        api("POST", "/_sandbox/sessions/" + encodeURIComponent(id) + "/simulate", { persona, action }),
      );
    });
    $("continue").addEventListener("click", () => {
      const id = state.openId;
      if (id) act($("continue"), "continue", () => api("POST", "/v1/sessions/" + encodeURIComponent(id) + "/continue"));
    });
    $("stop").addEventListener("click", () => {
      const id = state.openId;
      if (id) act($("stop"), "stop", () => api("POST", "/v1/sessions/" + encodeURIComponent(id) + "/stop"));
    });
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) pollSoon(0);
    });

    loadPersonas();
    const m = /^#session=([^&]+)$/.exec(location.hash);
    if (input.value) useKey(input.value);
    else $("live").textContent = "enter an API key";
    if (m && state.key) openSession(decodeURIComponent(m[1]));
  }

  init();
})();
