// rota console: the one script. Pages work without it; it shows times in the operator's
// own time zone and asks before a save.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // <time datetime="2026-12-07T10:00:00Z"> → the browser's local time
  const fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  for (const t of document.querySelectorAll("time[datetime]")) {
    const d = new Date(t.getAttribute("datetime"));
    if (!Number.isNaN(d.getTime())) {
      t.title = t.getAttribute("datetime");
      t.textContent = fmt.format(d);
    }
  }
  // reports count days in the operator's zone: send the browser's offset from UTC, and
  // come back with it if the page was asked for without one
  const tz = String(-new Date().getTimezoneOffset());
  for (const input of document.querySelectorAll("input[data-tz]")) {
    if (input.value !== tz) {
      input.value = tz;
      const u = new URL(window.location.href);
      if (!u.searchParams.has("tz")) {
        u.searchParams.set("tz", tz);
        window.location.replace(u.toString());
      }
    }
  }
  // long work says it is under way
  for (const b of document.querySelectorAll("button[data-busy]")) {
    b.addEventListener("click", () => setTimeout(() => { b.textContent = b.dataset.busy; }, 0));
  }
  // a save changes routing for every request at once: say so first
  for (const b of document.querySelectorAll("button[data-confirm]")) {
    b.addEventListener("click", (e) => {
      if (!window.confirm(b.dataset.confirm)) e.preventDefault();
    });
  }
});
