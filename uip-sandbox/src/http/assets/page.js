// Minimal page script: shows the session status. The full simulated wallet UI replaces this.
(async () => {
  const base = location.pathname.replace(/\/$/, "");
  const res = await fetch(base + "/state", { credentials: "same-origin" });
  const state = await res.json();
  document.querySelector('[data-testid="status"]').textContent = state.status || "error";
  document.querySelector('[data-testid="step-title"]').textContent =
    "Step " + (state.current_step + 1) + " of " + state.step_count;
})();
