// The hosted page of the UIP sandbox: shows what each step of a session discloses and drives the
// simulated wallet through the page transport under /s/{id} (docs/DECISIONS.md §7).
//
// The browser was bound by GET /s/{id}, which set the HttpOnly `uip_bind` cookie (Path=/s/{id}); every
// call below is a same-origin fetch that carries that cookie. This script never sees, stores, renders or
// logs the binding token. Everything shown comes from the server as data and is written with
// textContent (never innerHTML).
(function () {
  "use strict";

  var match = location.pathname.match(/^\/s\/([^/]+)\/?$/);
  if (!match) return;
  var BASE = "/s/" + match[1];

  var AWAITING_POLL_MS = 1000; // while the business decides (continue / stop)
  var ACTIVE_POLL_MS = 5000; // while a step is active: notices expiry or progress made elsewhere

  var PRIMITIVES = {
    identify: "share details from your ID",
    age_verify: "prove your age",
    light_sign: "sign terms",
    sign: "sign documents"
  };
  var BLOCKS = {
    first_name: "First name",
    last_name: "Last name",
    dob: "Date of birth",
    country: "Issuing country",
    document_number: "Document number",
    portrait: "Portrait photo"
  };
  var REASONS = {
    credential_expired: "Your digital ID has expired.",
    integrity_check_failed: "The data from your wallet did not pass the integrity check.",
    untrusted_issuer: "Your digital ID was issued by an authority this business does not trust.",
    insufficient_funds: "The business could not pay for this verification.",
    internal_error: "The verification service failed on its side. Please try again later.",
    session_ttl: "The time to finish this verification ran out.",
    step_window: "The time to finish this step ran out."
  };
  // Used only if /v1/wallets cannot be read: the capability matrix of docs/DECISIONS.md §7.
  var FALLBACK_WALLETS = [
    { id: "apple-wallet", name: "Apple Wallet", primitives: ["identify", "age_verify", "sign", "light_sign"] },
    { id: "google-wallet", name: "Google Wallet", primitives: ["identify", "age_verify", "light_sign"] }
  ];
  var FALLBACK_PERSONAS = [{ id: "jane-doe", description: "Jane Doe", claims: {}, outcome: "verifies" }];

  function $(id) {
    return document.getElementById(id);
  }

  var el = {
    main: $("main"),
    business: $("business-name"),
    progressWrap: $("progress-wrap"),
    progressText: $("progress-text"),
    progressFill: $("progress-fill"),
    title: $("step-title"),
    lead: $("step-lead"),
    announce: $("announce"),
    notice: $("notice"),
    disclosure: $("disclosure"),
    disclosureBody: $("disclosure-body"),
    wallet: $("wallet"),
    form: $("wallet-form"),
    walletSelect: $("wallet-select"),
    walletHint: $("wallet-hint"),
    personaSelect: $("persona-select"),
    personaHint: $("persona-hint"),
    share: $("share"),
    decline: $("decline"),
    result: $("result"),
    resultText: $("result-text"),
    resultReason: $("result-reason"),
    returnWrap: $("return-wrap"),
    returnLink: $("return-link"),
    status: $("status")
  };

  var wallets = FALLBACK_WALLETS;
  var personas = FALLBACK_PERSONAS;
  var state = null; // last PageState
  var request = null; // WalletRequest of the active step
  var reason = null; // failure code from the last /response, if any
  var busy = false;
  var pollTimer = null;
  var stopped = false; // refusal / not found: no more calls
  var epoch = 0; // bumped by every wallet response, so a poll that raced one is ignored

  // ---- helpers -------------------------------------------------------------------------------

  function node(tag, attrs, children) {
    var n = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "text") n.textContent = attrs[k];
        else if (k === "className") n.className = attrs[k];
        else n.setAttribute(k, attrs[k]);
      });
    }
    (children || []).forEach(function (c) {
      if (c != null) n.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return n;
  }

  function clear(n) {
    while (n.firstChild) n.removeChild(n.firstChild);
  }

  function show(n, on) {
    n.hidden = !on;
  }

  function businessName() {
    return (state && state.business_name) || "The business";
  }

  function announce(text) {
    // Clearing first makes screen readers announce a repeated message again.
    el.announce.textContent = "";
    window.setTimeout(function () {
      el.announce.textContent = text;
    }, 30);
  }

  // Shows `visible` in the notice box (empty hides it) and speaks `spoken` (default: the same).
  function notify(visible, spoken) {
    el.notice.textContent = visible || "";
    announce(spoken || visible || "");
  }

  function humanSize(n) {
    if (n < 1024) return n + " bytes";
    var units = ["KB", "MB", "GB"];
    var v = n;
    var i = -1;
    do {
      v /= 1024;
      i++;
    } while (v >= 1024 && i < units.length - 1);
    return v.toFixed(v < 10 ? 1 : 0) + " " + units[i] + " (" + n.toLocaleString("en-US") + " bytes)";
  }

  function safeHttpUrl(raw) {
    try {
      var u = new URL(raw);
      return u.protocol === "https:" || u.protocol === "http:" ? u : null;
    } catch (e) {
      return null;
    }
  }

  function call(method, path, body) {
    var opts = {
      method: method,
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" }
    };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (res) {
      return res
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          return { status: res.status, body: data || {} };
        });
    });
  }

  // ---- fatal screens -------------------------------------------------------------------------

  function fatal(testid, title, text) {
    stopped = true;
    stopPolling();
    clear(el.main);
    var box = node("div", { className: "message", "data-testid": testid, role: "alert" }, [
      node("h1", { text: title }),
      node("p", { text: text })
    ]);
    el.main.appendChild(box);
    document.title = title + " — UIP sandbox";
  }

  function refusal() {
    fatal(
      "refusal",
      "This verification is open on another device",
      "For your security, a verification link works only in the browser that opened it first. " +
        "Go back to the device where you started, or ask the business for a new link."
    );
  }

  function notFound() {
    fatal("not-found", "Verification not found", "This link is not valid. Ask the business for a new one.");
  }

  function handleFatalStatus(res) {
    if (res.status === 409 && res.body && res.body.code === "session/bound-elsewhere") {
      refusal();
      return true;
    }
    if (res.status === 404) {
      notFound();
      return true;
    }
    return false;
  }

  // ---- polling -------------------------------------------------------------------------------

  function stopPolling() {
    if (pollTimer) window.clearTimeout(pollTimer);
    pollTimer = null;
  }

  function schedulePoll() {
    stopPolling();
    if (stopped || !state) return;
    var ms;
    if (state.status === "awaiting_decision" || state.status === "created") ms = AWAITING_POLL_MS;
    else if (state.status === "in_progress") ms = ACTIVE_POLL_MS;
    else return; // terminal: nothing more will change
    pollTimer = window.setTimeout(poll, ms);
  }

  function poll() {
    pollTimer = null;
    if (busy || stopped) return schedulePoll();
    var startedAt = epoch;
    call("GET", BASE + "/state")
      .then(function (res) {
        // A wallet response went out meanwhile: this reading may be older than what it returned.
        if (busy || startedAt !== epoch) return;
        if (handleFatalStatus(res)) return;
        if (res.status !== 200) return;
        return applyState(res.body, { fromPoll: true });
      })
      .catch(function () {
        /* network hiccup: try again on the next tick */
      })
      .then(schedulePoll);
  }

  // ---- rendering -----------------------------------------------------------------------------

  function renderProgress() {
    var s = state;
    var count = s.step_count || 1;
    var cur = Math.min(s.current_step || 0, count - 1);
    var text;
    var done;
    switch (s.status) {
      case "completed":
        text = "All " + count + (count === 1 ? " step" : " steps") + " done";
        done = count;
        break;
      case "awaiting_decision":
        text = "Step " + (cur + 1) + " of " + count + " done";
        done = cur + 1;
        break;
      case "stopped":
      case "failed":
      case "expired":
        text = "Ended at step " + (cur + 1) + " of " + count;
        done = cur;
        break;
      default:
        text = "Step " + (cur + 1) + " of " + count;
        done = cur;
    }
    el.progressText.textContent = text;
    el.progressFill.style.width = Math.round((done / count) * 100) + "%";
    show(el.progressWrap, true);
  }

  function renderHeader() {
    el.business.textContent = businessName();
    el.status.textContent = state.status;
    document.body.setAttribute("data-status", state.status);
    renderProgress();
  }

  function selectedPersona() {
    var id = el.personaSelect.value;
    for (var i = 0; i < personas.length; i++) if (personas[i].id === id) return personas[i];
    return null;
  }

  function walletSupports(w, primitive) {
    return Array.isArray(w.primitives) && w.primitives.indexOf(primitive) !== -1;
  }

  function fillWallets(primitive) {
    var previous = el.walletSelect.value;
    clear(el.walletSelect);
    var firstSupported = null;
    var unsupported = [];
    wallets.forEach(function (w) {
      var ok = walletSupports(w, primitive);
      var opt = node("option", { value: w.id, text: w.name + (ok ? "" : " (can't " + (PRIMITIVES[primitive] || primitive) + ")") });
      if (!ok) {
        opt.disabled = true;
        unsupported.push(w.name);
      } else if (!firstSupported) firstSupported = w.id;
      el.walletSelect.appendChild(opt);
    });
    var keep = wallets.some(function (w) {
      return w.id === previous && walletSupports(w, primitive);
    });
    if (keep) el.walletSelect.value = previous;
    else if (firstSupported) el.walletSelect.value = firstSupported;
    el.walletHint.textContent = unsupported.length
      ? unsupported.join(" and ") + " cannot " + (PRIMITIVES[primitive] || primitive) + " here, so it is not available for this step."
      : "Pick the wallet that holds your digital ID.";
    return firstSupported !== null;
  }

  function fillPersonas() {
    var previous = el.personaSelect.value || "jane-doe";
    clear(el.personaSelect);
    personas.forEach(function (p) {
      el.personaSelect.appendChild(node("option", { value: p.id, text: p.id }));
    });
    el.personaSelect.value = previous;
    if (!el.personaSelect.value && personas.length) el.personaSelect.value = personas[0].id;
    renderPersonaHint();
  }

  function renderPersonaHint() {
    var p = selectedPersona();
    if (!p) {
      el.personaHint.textContent = "";
      return;
    }
    var d = String(p.description || "").replace(/\s+$/, "");
    if (d && !/[.!?]$/.test(d)) d += ".";
    el.personaHint.textContent = d + (p.outcome ? " Expected outcome: " + p.outcome + "." : "");
  }

  function claimPreview(block) {
    var p = selectedPersona();
    if (!p || !p.claims || !(block in p.claims)) {
      return node("span", { className: "value missing", text: "not on this ID — sent as “unavailable”" });
    }
    var v = p.claims[block];
    if (block === "portrait" && typeof v === "string" && v.indexOf("data:image/") === 0) {
      return node("img", { className: "portrait", src: v, alt: "Portrait photo of the test persona", width: "40", height: "40" });
    }
    return node("span", { className: "value", text: String(v) });
  }

  function renderDisclosure(req) {
    clear(el.disclosureBody);
    var body = el.disclosureBody;
    var biz = businessName();
    var signing = req.primitive === "light_sign" || req.primitive === "sign";
    $("disclosure-heading").textContent = signing ? "What you will sign" : "What you will share";
    if (req.primitive === "identify") {
      var list = node("ul", { className: "blocks", "data-testid": "blocks" });
      (req.blocks || []).forEach(function (b) {
        var known = Object.prototype.hasOwnProperty.call(BLOCKS, b);
        list.appendChild(
          node("li", { "data-block": b }, [
            node("span", { className: "label", text: known ? BLOCKS[b] : b + " (not a known detail)" }),
            known ? claimPreview(b) : node("span", { className: "value missing", text: "sent as “unavailable”" })
          ])
        );
      });
      body.appendChild(list);
      body.appendChild(node("p", { className: "hint", text: "Values shown are the selected test persona's." }));
    } else if (req.primitive === "age_verify") {
      body.appendChild(
        node("dl", { className: "facts" }, [
          node("dt", { text: "Age threshold" }),
          node("dd", { "data-testid": "min-age", text: req.min_age + " or older" }),
          node("dt", { text: "Shared" }),
          node("dd", { text: "Only yes or no: are you " + req.min_age + " or older?" }),
          node("dt", { text: "Not shared" }),
          node("dd", { text: "Your date of birth and every other detail" })
        ])
      );
    } else if (req.primitive === "light_sign") {
      if (req.title) body.appendChild(node("h3", { className: "terms-title", "data-testid": "terms-title", text: req.title }));
      body.appendChild(
        node("div", {
          className: "terms",
          role: "region",
          "aria-label": "Terms to sign",
          tabindex: "0",
          "data-testid": "terms",
          text: req.terms || ""
        })
      );
      if (req.document_hash) body.appendChild(fingerprint("Fingerprint of these terms", req.document_hash));
    } else if (req.primitive === "sign") {
      var docs = node("ol", { className: "documents", "data-testid": "documents" });
      (req.documents || []).forEach(function (d) {
        docs.appendChild(
          node("li", { "data-index": String(d.index) }, [
            node("p", { className: "doc-name", text: d.name }),
            node("dl", { className: "facts" }, [
              node("dt", { text: "Size" }),
              node("dd", { text: humanSize(d.size) }),
              node("dt", { text: "SHA-256" }),
              node("dd", {}, [node("code", { className: "hash", text: d.sha256 })])
            ]),
            node("a", {
              href: BASE + "/documents/" + d.index,
              target: "_blank",
              rel: "noopener noreferrer",
              "data-testid": "document-link",
              text: "View the exact bytes of " + d.name
            }, [node("span", { className: "visually-hidden", text: " (opens in a new tab)" })])
          ])
        );
      });
      body.appendChild(docs);
      if (req.document_hash) body.appendChild(fingerprint("Fingerprint of all documents", req.document_hash));
    }
    body.appendChild(node("p", { className: "to", text: "Shared with: " + biz }));
    show(el.disclosure, true);
  }

  function fingerprint(label, hash) {
    return node("p", { className: "fingerprint" }, [label + ": ", node("code", { className: "hash", text: hash })]);
  }

  function stepTitle(req) {
    switch (req.primitive) {
      case "identify":
        return "Share your details";
      case "age_verify":
        return "Confirm you are " + req.min_age + " or older";
      case "light_sign":
        return req.title ? "Sign: " + req.title : "Sign the terms";
      case "sign":
        var n = (req.documents || []).length;
        return "Sign " + (n === 1 ? "a document" : n + " documents");
      default:
        return "Complete this step";
    }
  }

  function stepLead(req) {
    var biz = businessName();
    switch (req.primitive) {
      case "identify":
        return biz + " asks for these details from your digital ID.";
      case "age_verify":
        return biz + " learns only whether you meet the age threshold.";
      case "light_sign":
        return "Read the terms. Your wallet signs exactly this text and " + biz + " receives the signature.";
      case "sign":
        return "Read each document. Your wallet signs exactly these bytes and " + biz + " receives the signature.";
      default:
        return "";
    }
  }

  function renderStep(req) {
    request = req;
    el.title.textContent = stepTitle(req);
    el.lead.textContent = stepLead(req);
    renderDisclosure(req);
    var usable = fillWallets(req.primitive);
    var signing = req.primitive === "light_sign" || req.primitive === "sign";
    el.share.textContent = signing ? "Sign and share" : "Share";
    el.share.setAttribute("aria-disabled", usable ? "false" : "true");
    show(el.wallet, true);
    show(el.result, false);
    document.title = el.title.textContent + " — " + businessName();
  }

  function renderOutcome() {
    var s = state;
    var biz = businessName();
    show(el.disclosure, false);
    show(el.wallet, false);
    el.lead.textContent = "";
    var title;
    var text;
    switch (s.status) {
      case "awaiting_decision":
        title = "Waiting for the business";
        text = "Step " + (s.current_step + 1) + " is done. " + biz + " is reviewing it and decides whether to go on. " +
          "This page updates by itself; keep it open.";
        break;
      case "completed":
        title = "All done";
        text = "You completed every step. " + biz + " has received your results.";
        break;
      case "stopped":
        title = "Verification ended";
        text = biz + " ended this verification. Nothing more will be shared.";
        break;
      case "failed":
        title = "Verification failed";
        text = "Your wallet's response could not be used, so this verification stopped. Nothing more will be shared.";
        break;
      case "expired":
        title = "This link has expired";
        text = "The time to finish this verification ran out. Ask " + biz + " for a new link.";
        break;
      default:
        title = "Please wait";
        text = "";
    }
    el.title.textContent = title;
    el.resultText.textContent = text;
    el.result.setAttribute("data-testid", s.status === "awaiting_decision" ? "waiting" : "result");
    el.result.classList.toggle("waiting", s.status === "awaiting_decision");

    var why = reason || s.reason;
    if ((s.status === "failed" || s.status === "expired") && why) {
      el.resultReason.textContent = "Reason: " + (REASONS[why] || why.replace(/_/g, " ")) + " (" + why + ")";
      show(el.resultReason, true);
    } else {
      show(el.resultReason, false);
    }

    var terminal = ["completed", "stopped", "failed", "expired"].indexOf(s.status) !== -1;
    var url = terminal && s.return_url ? safeHttpUrl(s.return_url) : null;
    if (url) {
      // A plain link: the user decides when to leave. Never an automatic redirect.
      el.returnLink.setAttribute("href", url.href);
      el.returnLink.textContent = "Return to " + businessName();
      show(el.returnWrap, true);
    } else {
      el.returnLink.setAttribute("href", "#");
      show(el.returnWrap, false);
    }
    show(el.result, true);
    document.title = title + " — " + biz;
    return title + ". " + text;
  }

  function focusTitle() {
    // Moves keyboard and screen-reader focus to the new screen's heading.
    el.title.focus({ preventScroll: false });
  }

  function loadRequest() {
    return call("GET", BASE + "/request").then(function (res) {
      if (handleFatalStatus(res)) return null;
      if (res.status === 409) {
        // No step is active any more (paused or over): re-read the state.
        return call("GET", BASE + "/state").then(function (r2) {
          if (handleFatalStatus(r2)) return null;
          if (r2.status === 200) return applyState(r2.body, { focus: true }).then(function () {
            return null;
          });
          return null;
        });
      }
      if (res.status !== 200) throw new Error(res.body.error || "the wallet request could not be read");
      return res.body;
    });
  }

  // Applies a PageState (from /state or /response). opts: {fromPoll, focus, message}.
  function applyState(next, opts) {
    opts = opts || {};
    var prev = state;
    state = next;
    var changed = !prev || prev.status !== next.status || prev.current_step !== next.current_step;
    if (prev && prev.status === "awaiting_decision" && next.status === "in_progress" && !opts.message) {
      opts.message = businessName() + " continued the verification.";
    }

    if (next.status === "in_progress") {
      var needRequest = !request || request.stage !== next.current_step || changed || opts.reloadRequest;
      if (!needRequest) {
        renderHeader();
        schedulePoll();
        return Promise.resolve();
      }
      return loadRequest().then(function (req) {
        if (!req) return;
        var newStep = !request || request.stage !== req.stage || changed;
        // Status, progress and the step's content change together, once the request is known.
        state.current_step = req.stage;
        renderHeader();
        renderStep(req);
        if (newStep) {
          var msg = (opts.message ? opts.message + " " : "") +
            "Step " + (state.current_step + 1) + " of " + state.step_count + ": " + el.title.textContent + ".";
          notify(opts.message || "", msg);
          if (opts.focus || (prev && changed)) focusTitle();
        } else if (opts.message) {
          notify(opts.message);
        }
        schedulePoll();
      });
    }

    request = null;
    renderHeader();
    var msg = renderOutcome();
    if (changed || opts.message) {
      notify("", (opts.message ? opts.message + " " : "") + msg);
      if (prev) focusTitle();
    }
    schedulePoll();
    return Promise.resolve();
  }

  // ---- wallet actions ------------------------------------------------------------------------

  function setBusy(on) {
    busy = on;
    // aria-disabled (not disabled) keeps keyboard focus on the button the user pressed.
    [el.share, el.decline].forEach(function (b) {
      b.setAttribute("aria-disabled", on ? "true" : "false");
    });
    el.form.setAttribute("aria-busy", on ? "true" : "false");
    if (!on && request) {
      var w = el.walletSelect.value;
      var ok = wallets.some(function (x) {
        return x.id === w && walletSupports(x, request.primitive);
      });
      el.share.setAttribute("aria-disabled", ok ? "false" : "true");
    }
  }

  function respond(action) {
    if (busy || stopped || !request) return;
    if (action === "share" && el.share.getAttribute("aria-disabled") === "true") return;
    var sent = request;
    epoch++;
    setBusy(true);
    notify(action === "share" ? "Sending to your wallet…" : "Declining…");
    var body = {
      nonce: sent.nonce,
      wallet: el.walletSelect.value,
      action: action,
      persona: el.personaSelect.value || "jane-doe"
    };
    call("POST", BASE + "/response", body)
      .then(function (res) {
        if (handleFatalStatus(res)) return;
        if (res.status === 200) {
          var r = res.body;
          var pageState = {
            status: r.status,
            current_step: r.current_step,
            step_count: r.step_count,
            current_primitive: r.current_primitive,
            step_expires_at: r.step_expires_at,
            return_url: r.return_url,
            business_name: r.business_name
          };
          if (r.outcome === "failed") reason = r.reason || null;
          if (r.outcome === "declined") {
            // The step stays active with a fresh nonce: re-read the request before trying again.
            return applyState(pageState, {
              reloadRequest: true,
              message: "You declined. Nothing was shared. You can review the request and try again."
            });
          }
          var msg = r.outcome === "verified" ? "Step " + (sent.stage + 1) + " done." : "";
          return applyState(pageState, { message: msg, focus: true });
        }
        var code = res.body.code || "";
        if (code === "session/stale-nonce") {
          request = null;
          return refresh("This request changed. Please review it and try again.");
        }
        if (code === "session/not-active") {
          return refresh("");
        }
        notify("Something went wrong: " + (res.body.error || "HTTP " + res.status) + ".");
      })
      .catch(function () {
        notify("The sandbox could not be reached. Check your connection and try again.");
      })
      .then(function () {
        setBusy(false);
      });
  }

  function refresh(message) {
    return call("GET", BASE + "/state").then(function (res) {
      if (handleFatalStatus(res)) return;
      if (res.status === 200) return applyState(res.body, { message: message, reloadRequest: true, focus: true });
    });
  }

  el.form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    respond("share");
  });
  el.decline.addEventListener("click", function () {
    respond("decline");
  });
  el.personaSelect.addEventListener("change", function () {
    renderPersonaHint();
    if (request && request.primitive === "identify") renderDisclosure(request);
  });
  el.walletSelect.addEventListener("change", function () {
    if (!busy) setBusy(false);
  });

  // ---- start ---------------------------------------------------------------------------------

  function loadLists() {
    var w = call("GET", "/v1/wallets")
      .then(function (res) {
        if (res.status === 200 && Array.isArray(res.body.wallets) && res.body.wallets.length) wallets = res.body.wallets;
      })
      .catch(function () {});
    var p = call("GET", "/_sandbox/personas")
      .then(function (res) {
        if (res.status === 200 && Array.isArray(res.body.personas) && res.body.personas.length) personas = res.body.personas;
      })
      .catch(function () {});
    return Promise.all([w, p]).then(fillPersonas);
  }

  Promise.all([loadLists(), call("GET", BASE + "/state")])
    .then(function (all) {
      var res = all[1];
      if (handleFatalStatus(res)) return;
      if (res.status !== 200) throw new Error(res.body.error || "HTTP " + res.status);
      return applyState(res.body, {});
    })
    .catch(function (e) {
      el.title.textContent = "Something went wrong";
      notify("The verification could not be loaded: " + (e && e.message ? e.message : "unknown error") + ". Reload the page to try again.");
    });
})();
