// session-tree's browser view: live panels, the inbox's decisions, a node's content.
// Plain JavaScript, no build step; every request goes to this server only.
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]').content;

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function summary(event) {
  const d = event.data || {};
  switch (event.kind) {
    case "text": return d.text || "";
    case "tool_use": return `${d.name} ${JSON.stringify(d.input)}`;
    case "tool_result": return typeof d.content === "string" ? d.content : JSON.stringify(d.content);
    case "permission_request": return `${d.tool_name} waits for a decision (approval ${d.approval_id})`;
    case "permission_decision": return `${d.behavior || d.status}${d.message ? ": " + d.message : ""} (by ${d.decided_by})`;
    default: return JSON.stringify(d);
  }
}

// A turn's events as they arrive; its final text when it ends.
function follow(section) {
  const id = section.dataset.stream;
  const text = section.querySelector(".live-text");
  const list = section.querySelector(".live-events");
  const status = section.querySelector(".live-status");
  const final = section.querySelector(".final");
  const source = new EventSource(`/streams/${id}/events`);
  source.addEventListener("open", () => { if (!section.dataset.ended) status.textContent = "live"; });
  source.addEventListener("turn", (message) => {
    const event = JSON.parse(message.data);
    if (event.kind === "text_delta") { text.textContent += event.data.text || ""; return; }
    if (event.kind === "thinking_delta") return;
    const item = el("li", `event kind-${event.kind}`);
    item.dataset.seq = event.seq;
    item.append(el("span", "seq", String(event.seq)), el("span", "kind", event.kind), el("span", "what", summary(event)));
    list.append(item);
    if (event.kind === "permission_request") status.textContent = "awaiting permission";
    if (event.kind === "permission_decision") status.textContent = "live";
  });
  source.addEventListener("end", (message) => {
    const end = JSON.parse(message.data);
    source.close();
    section.dataset.ended = end.status;
    status.textContent = end.status;
    final.hidden = false;
    final.replaceChildren(el("h3", "", `final text (${end.status})`), el("pre", "final-text", end.text || ""));
    if (end.error) final.append(el("p", "error", end.error));
  });
}

// A node's content, on click in the graph.
function showNode(row) {
  const panel = document.getElementById("panel");
  const id = row.dataset.node;
  fetch(`/api/nodes/${id}`).then((r) => r.json()).then((node) => {
    panel.hidden = false;
    panel.dataset.node = id;
    panel.querySelector(".panel-title").textContent = `node ${node.id}: ${node.kind}${node.ephemeral ? " (ephemeral)" : ""}`;
    panel.querySelector(".panel-data").textContent = JSON.stringify(node.data, null, 2);
    panel.querySelector(".panel-render").href = `/s/${encodeURIComponent(panel.dataset.session)}/render?at=${id}`;
    document.querySelectorAll(".row.selected").forEach((r) => r.classList.remove("selected"));
    row.classList.add("selected");
  });
}

function post(url, body) {
  return fetch(url, {
    method: "POST",
    headers: {"content-type": "application/json", "x-csrf-token": csrf},
    body: JSON.stringify(body),
  }).then(async (r) => ({ok: r.ok, body: r.ok ? await r.json() : await r.text()}));
}

function decide(card, allow) {
  const outcome = card.querySelector(".outcome");
  const body = {decision: allow ? "allow" : "deny"};
  const input = card.querySelector(".input");
  if (allow && input.value !== input.defaultValue) {
    const refuse = (why) => {
      outcome.hidden = false;
      outcome.className = "outcome error";
      outcome.textContent = `${why}: fix it, or reload to start again.`;
    };
    let edited;
    try { edited = JSON.parse(input.value); } catch (e) {
      refuse(`The input is not JSON (${e.message})`);
      return;
    }
    // A tool's input is an object; null would read as "no edit" and run the original.
    if (edited === null || typeof edited !== "object" || Array.isArray(edited)) {
      refuse("The input must be a JSON object, {...}, as the tool's input is");
      return;
    }
    body.updated_input = edited;
  }
  if (!allow) body.message = card.querySelector(".message").value;
  if (card.querySelector(".remember").checked) {
    body.remember = true;
    body.rule = card.querySelector(".rule").value || null;
  }
  card.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  card.classList.add("deciding");
  post(`/api/approvals/${card.dataset.approval}`, body).then((result) => {
    outcome.hidden = false;
    if (result.ok) {
      outcome.className = "outcome done";
      outcome.textContent = `${result.body.status}`;
      card.classList.replace("deciding", "decided");
    } else {
      outcome.className = "outcome error";
      outcome.textContent = result.body;
      card.classList.remove("deciding");
      card.querySelectorAll("button").forEach((b) => { b.disabled = false; });
    }
  });
}

function inbox(root) {
  const source = new EventSource("/inbox/events");
  source.addEventListener("update", (message) => {
    const {ids, cards} = JSON.parse(message.data);
    const keep = new Set(ids.map(String));
    // A card no longer pending stays, greyed, saying so: what was decided here shows
    // its outcome, one decided elsewhere (or expired) says that.
    root.querySelectorAll(".card:not(.decided):not(.deciding)").forEach((card) => {
      if (keep.has(card.dataset.approval)) return;
      card.classList.add("decided");
      card.querySelectorAll("button").forEach((b) => { b.disabled = true; });
      const outcome = card.querySelector(".outcome");
      outcome.hidden = false;
      outcome.className = "outcome";
      outcome.textContent = "no longer waiting: decided elsewhere, or its turn ended";
    });
    for (const id of ids) {
      if (root.querySelector(`.card[data-approval="${id}"]`)) continue;
      const holder = document.createElement("div");
      holder.innerHTML = cards[id];  // rendered and escaped on the server
      root.append(holder.firstElementChild);
    }
    document.getElementById("inbox-empty").hidden = ids.length > 0;
    document.querySelector(".inbox-count").textContent = String(ids.length);
  });
  root.addEventListener("click", (e) => {
    const button = e.target.closest("button");
    if (!button) return;
    const card = button.closest(".card");
    if (button.classList.contains("allow")) decide(card, true);
    if (button.classList.contains("deny")) decide(card, false);
  });
}

// A session page: when its turn starts or ends (or its head moves), the tree and the
// turns are drawn again from the server; a live panel already showing stays.
function watch(page) {
  const source = new EventSource(page.dataset.watch);
  source.addEventListener("update", async (message) => {
    if (message.lastEventId === page.dataset.version) return;
    page.dataset.version = message.lastEventId;
    const answer = await fetch(location.href);
    if (!answer.ok) return;
    const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
    const again = fresh.querySelector("#session .refresh");
    if (again) page.querySelector(".refresh").replaceChildren(...again.childNodes);
    const lives = page.querySelector(".lives");
    fresh.querySelectorAll("#session section.live[data-stream]").forEach((live) => {
      if (lives.querySelector(`section.live[data-stream="${live.dataset.stream}"]`)) return;
      const added = document.importNode(live, true);
      lives.prepend(added);
      follow(added);
    });
  });
}

function sessions(tbody) {
  const source = new EventSource(`/sessions/events${location.search}`);
  source.addEventListener("update", (message) => {
    // The page was rendered from this very version: leave it be.
    if (message.lastEventId === tbody.dataset.version) return;
    tbody.dataset.version = message.lastEventId;
    tbody.innerHTML = message.data;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("section.live[data-stream]").forEach(follow);
  // On the page, not the list: the list is drawn again when the tree changes.
  document.addEventListener("click", (e) => {
    const row = e.target.closest("ol.rows li.row[data-node]");
    if (row && !e.target.closest("a")) showNode(row);
  });
  const page = document.getElementById("session");
  if (page) watch(page);
  const box = document.getElementById("inbox");
  if (box) inbox(box);
  const tbody = document.getElementById("session-rows");
  if (tbody) sessions(tbody);
});
