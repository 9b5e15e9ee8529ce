// A plan job's page: polls the job's JSON (data-source) every data-poll milliseconds and shows its progress;
// once the solve has stored its version, says so and goes to the schedule page (data-done). Without this
// script the page reloads itself while the solve runs (a <noscript> refresh).
"use strict";

(function () {
  var box = document.getElementById("plan-job");
  if (!box || !window.fetch || box.getAttribute("data-finished") === "true") {
    return;
  }
  var source = box.getAttribute("data-source");
  var done = box.getAttribute("data-done");
  var every = parseInt(box.getAttribute("data-poll"), 10) || 500;
  var progress = document.getElementById("plan-progress");
  var outcome = document.getElementById("plan-outcome");
  var MAX_FAILURES = 10;
  var failures = 0;

  function text(id, value) {
    var element = document.getElementById(id);
    if (element) {
      element.textContent = value;
    }
  }

  function tell(message, isError) {
    outcome.textContent = message;
    outcome.className = isError ? "alert" : "flash";
    outcome.setAttribute("role", isError ? "alert" : "status");
  }

  function show(job) {
    progress.value = job.fraction;
    progress.textContent = Math.round(job.fraction * 100) + " %";
    text("plan-state", job.state);
    text("plan-step", job.step || "waiting to start");
    text("plan-elapsed", job.elapsed_seconds.toFixed(1));
    text("plan-objective", job.best_objective === null ? "none yet" : String(job.best_objective));
  }

  function poll() {
    fetch(source, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) {
          throw new Error("your session has ended: sign in again to follow the solve");
        }
        if (!response.ok) {
          throw new Error("the server answered " + response.status);
        }
        return response.json();
      })
      .then(function (job) {
        failures = 0;
        show(job);
        if (job.state === "succeeded") {
          tell("Version " + job.version + " stored. Opening the schedule…", false);
          window.setTimeout(function () {
            window.location.assign(job.done || done);
          }, 600);
        } else if (job.state === "failed") {
          tell("The solve failed: " + (job.error || "no reason given"), true);
        } else {
          window.setTimeout(poll, every);
        }
      })
      .catch(function (error) {
        failures += 1;
        if (failures >= MAX_FAILURES || /session/.test(error.message)) {
          tell("Cannot follow the solve: " + error.message + ". Reload the page to try again.", true);
        } else {
          window.setTimeout(poll, every * 2);
        }
      });
  }

  window.setTimeout(poll, every);
})();
