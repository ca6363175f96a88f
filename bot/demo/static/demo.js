// The demo's Slack client: renders what the bot sent (Block Kit, mrkdwn) and turns clicks,
// forms and slash commands into calls to the demo's API, which sends them to the bot as
// Slack would. No build step, no libraries.
"use strict";

const POLL_MS = 700;
const TIMEZONE = "Europe/London";
const EMOJI = {
  white_check_mark: "✅", warning: "⚠️", rotating_light: "🚨", red_circle: "🔴", large_orange_circle: "🟠",
  large_yellow_circle: "🟡", large_green_circle: "🟢", white_circle: "⚪", x: "❌", memo: "📝", hourglass: "⌛",
  arrow_upper_right: "↗️", arrow_right: "➡️", arrow_lower_right: "↘️", alarm_clock: "⏰", wave: "👋",
  speech_balloon: "💬", raising_hand: "🙋", eyes: "👀", clipboard: "📋", checkered_flag: "🏁", calendar: "📅",
  bar_chart: "📊", chart_with_upwards_trend: "📈", chart_with_downwards_trend: "📉", bell: "🔔", pushpin: "📌",
  heavy_check_mark: "✔️", information_source: "ℹ️", zzz: "💤", tada: "🎉", construction: "🚧", link: "🔗",
  bulb: "💡", fire: "🔥", no_entry: "⛔", arrow_up: "⬆️", arrow_down: "⬇️", sos: "🆘", mag: "🔍",
  busts_in_silhouette: "👥", bust_in_silhouette: "👤", date: "📅", spiral_calendar_pad: "🗓️", scroll: "📜",
  package: "📦", handshake: "🤝", thumbsup: "👍", "+1": "👍", question: "❓", exclamation: "❗",
};

const state = {
  user: localStorage.getItem("demo.user") || "",
  channel: localStorage.getItem("demo.channel") || "",
  tab: "home",
  thread: null,
  data: null,
  renderedKey: null,
  modalKey: null,
  homeKey: null,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "html") node.innerHTML = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ user: state.user, ...body }),
  };
  const response = await fetch(`/api/${path}`, options);
  const answer = await response.json();
  if (!response.ok || answer.ok === false) note(answer.error || `HTTP ${response.status}`);
  return answer;
}

function note(text) {
  $("composer-note").textContent = text || "";
}

// --- mrkdwn ------------------------------------------------------------------------------

function escapeHtml(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function unescapeSlack(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function userName(id) {
  return (state.data && state.data.user_names[id]) || id;
}

function channelName(id) {
  return (state.data && state.data.channel_names[id]) || id;
}

function formatDate(epoch, format, fallback) {
  const when = new Date(Number(epoch) * 1000);
  if (Number.isNaN(when.getTime())) return fallback;
  const part = (options) => new Intl.DateTimeFormat("en-GB", { timeZone: TIMEZONE, ...options }).format(when);
  const tokens = {
    date_num: part({ year: "numeric", month: "2-digit", day: "2-digit" }),
    date: part({ year: "numeric", month: "long", day: "numeric" }),
    date_short: part({ year: "numeric", month: "short", day: "numeric" }),
    date_long: part({ weekday: "long", year: "numeric", month: "long", day: "numeric" }),
    date_pretty: part({ year: "numeric", month: "long", day: "numeric" }),
    date_short_pretty: part({ year: "numeric", month: "short", day: "numeric" }),
    date_long_pretty: part({ weekday: "long", year: "numeric", month: "long", day: "numeric" }),
    day_divider_pretty: part({ weekday: "long", month: "long", day: "numeric" }),
    time: part({ hour: "2-digit", minute: "2-digit" }),
    time_secs: part({ hour: "2-digit", minute: "2-digit", second: "2-digit" }),
    ago: part({ year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }),
  };
  return format.replace(/\{(\w+)\}/g, (whole, name) => tokens[name] || whole);
}

function linkToken(inner) {
  const [target, label] = inner.split("|", 2);
  if (target.startsWith("@")) return `<span class="mention">@${escapeHtml(userName(target.slice(1)))}</span>`;
  if (target.startsWith("#")) {
    const id = target.slice(1);
    return `<a class="mention" href="#" data-channel="${escapeHtml(id)}">#${escapeHtml(label || channelName(id))}</a>`;
  }
  if (target.startsWith("!date^")) {
    const [, epoch, format] = target.split("^");
    return escapeHtml(formatDate(epoch, format || "{date}", label || ""));
  }
  if (target.startsWith("!subteam^")) return `<span class="mention">@${escapeHtml(label || target.slice(9))}</span>`;
  if (target.startsWith("!")) return `<span class="mention">@${escapeHtml(target.slice(1))}</span>`;
  return `<a href="${escapeHtml(target)}" target="_blank" rel="noopener">${escapeHtml(label || target)}</a>`;
}

function styleText(html) {
  return html
    .replace(/```([\s\S]*?)```/g, "<pre>$1</pre>")
    .replace(/`([^`\n]+)`/g, "<code>$1</code>")
    .replace(/(^|[\s(>])\*([^*\n]+)\*(?=$|[\s).,:;!?<])/g, "$1<b>$2</b>")
    .replace(/(^|[\s(>])_([^_\n]+)_(?=$|[\s).,:;!?<])/g, "$1<i>$2</i>")
    .replace(/(^|[\s(>])~([^~\n]+)~(?=$|[\s).,:;!?<])/g, "$1<s>$2</s>")
    .replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] || whole);
}

function mrkdwn(text) {
  // Tokens first (<@U..>, <#C..>, <!date^..>, <url|label>), then styles on what is left.
  const pieces = String(text || "").split(/(<[^<>]+>)/);
  const html = pieces.map((piece) => {
    if (piece.startsWith("<") && piece.endsWith(">")) return `\u0000${linkToken(unescapeSlack(piece.slice(1, -1)))}\u0001`;
    return escapeHtml(unescapeSlack(piece));
  }).join("");
  // Styles must not reach inside tokens: style the text between them only.
  const styled = html.split(/(\u0000[\s\S]*?\u0001)/).map((part) =>
    part.startsWith("\u0000") ? part.slice(1, -1) : styleText(part)).join("");
  return styled
    .split("\n")
    .map((line) => (line.startsWith("&gt; ") ? `<blockquote>${line.slice(5)}</blockquote>` : line))
    .join("<br>");
}

function textObject(object) {
  if (!object) return "";
  if (object.type === "mrkdwn") return mrkdwn(object.text);
  const plain = escapeHtml(object.text || "");
  return object.emoji === false ? plain : plain.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] || whole);
}

function span(object, tag = "span", attrs = {}) {
  return el(tag, { ...attrs, html: textObject(object) });
}

// --- Block Kit ---------------------------------------------------------------------------

function unknown(kind, type) {
  return el("span", { class: "unknown" }, `Unsupported ${kind}: ${type}`);
}

// `where` says what a click acts on: {kind: "message", channel_id, message_ts} or {kind: "view", view_id}.
function renderBlocks(blocks, where, inModal) {
  return (blocks || []).map((block) => renderBlock(block, where, inModal));
}

function renderBlock(block, where, inModal) {
  const attrs = { class: `block ${block.type}`, "data-block-id": block.block_id };
  switch (block.type) {
    case "header":
      return span(block.text, "div", attrs);
    case "divider":
      return el("hr", attrs);
    case "section": {
      const main = el("div", {},
        block.text ? span(block.text, "div") : null,
        block.fields ? el("div", { class: "fields" }, block.fields.map((field) => span(field, "div"))) : null);
      return el("div", { ...attrs, class: "block section" }, main,
        block.accessory ? renderElement(block.accessory, block, where, false) : null);
    }
    case "context":
      return el("div", { ...attrs, class: "block context" }, (block.elements || []).map((item) =>
        item.type === "image" ? el("img", { src: imageSource(item), alt: item.alt_text }) : span(item)));
    case "actions":
      return el("div", { ...attrs, class: "block actions" },
        (block.elements || []).map((element) => renderElement(element, block, where, false)));
    case "image":
      return el("div", attrs, block.title ? span(block.title, "div") : null,
        el("img", { class: "image", src: imageSource(block), alt: block.alt_text }));
    case "input":
      return renderInput(block, where, inModal);
    case "file":
      return el("div", attrs, el("img", { class: "image", src: `/files/${block.file_id}`, alt: "file" }));
    default:
      return el("div", attrs, unknown("block", block.type));
  }
}

function imageSource(item) {
  if (item.image_url) return item.image_url;
  if (item.slack_file) return item.slack_file.url || `/files/${item.slack_file.id}`;
  return "";
}

function optionsOf(element) {
  if (element.options) return element.options;
  return (element.option_groups || []).flatMap((group) => group.options);
}

function optionLabel(option) {
  return unescapeSlack(option.text.text).replace(/:([a-z0-9_+-]+):/g, (w, n) => EMOJI[n] || w);
}

function people() {
  return state.data ? state.data.people : [];
}

// An interactive element. In a modal's input block (`asInput`) it is a form field that is
// only read on submit; elsewhere a change sends a block_actions payload straight away.
function renderElement(element, block, where, asInput) {
  const attrs = { "data-action-id": element.action_id, "data-type": element.type };
  const dispatch = (selection) => act(element, block, where, selection);
  const live = !asInput || block.dispatch_action;
  const onchange = (read) => (live ? { onchange: (event) => dispatch(read(event.target)) } : {});
  switch (element.type) {
    case "button": {
      const classes = element.style ? `button ${element.style}` : "button";
      return el("button", {
        ...attrs, type: "button", class: classes, "data-value": element.value,
        onclick: async (event) => {
          if (element.confirm && !window.confirm(unescapeSlack(element.confirm.text.text || ""))) return;
          if (element.url) window.open(element.url, "_blank", "noopener");
          event.target.disabled = true;
          await dispatch({});
        },
      }, span(element.text));
    }
    case "static_select":
    case "external_select":
    case "overflow": {
      const placeholder = element.type === "overflow" ? "⋯"
        : (element.placeholder ? unescapeSlack(element.placeholder.text) : "Select an option");
      const select = el("select", { ...attrs, ...onchange((node) => ({ selected_option: node.value })) },
        el("option", { value: "" }, placeholder),
        optionsOf(element).map((option) => el("option", {
          value: option.value, selected: element.initial_option && element.initial_option.value === option.value,
        }, optionLabel(option))));
      return select;
    }
    case "multi_static_select":
      return el("select", { ...attrs, multiple: true, size: Math.min(6, optionsOf(element).length) },
        optionsOf(element).map((option) => el("option", {
          value: option.value,
          selected: (element.initial_options || []).some((initial) => initial.value === option.value),
        }, optionLabel(option))));
    case "users_select":
      return el("select", { ...attrs, ...onchange((node) => ({ selected_user: node.value })) },
        el("option", { value: "" }, element.placeholder ? element.placeholder.text : "Choose a person"),
        people().map((person) => el("option", {
          value: person.id, selected: element.initial_user === person.id,
        }, person.name)));
    case "multi_users_select":
      return el("select", { ...attrs, multiple: true, size: 5 }, people().map((person) => el("option", {
        value: person.id, selected: (element.initial_users || []).includes(person.id),
      }, person.name)));
    case "conversations_select":
    case "channels_select":
      return el("select", {
        ...attrs,
        ...onchange((node) => (element.type === "channels_select"
          ? { selected_channel: node.value } : { selected_conversation: node.value })),
      },
      el("option", { value: "" }, element.placeholder ? element.placeholder.text : "Choose a channel"),
      state.data.channels.map((channel) => el("option", {
        value: channel.id, selected: (element.initial_conversation || element.initial_channel) === channel.id,
      }, `#${channel.name}`)));
    case "datepicker":
      return el("input", {
        ...attrs, type: "date", value: element.initial_date,
        ...onchange((node) => ({ selected_date: node.value })),
      });
    case "timepicker":
      return el("input", { ...attrs, type: "time", value: element.initial_time });
    case "checkboxes":
    case "radio_buttons": {
      const kind = element.type === "checkboxes" ? "checkbox" : "radio";
      const name = `${block.block_id}/${element.action_id}`;
      const initial = element.initial_options || (element.initial_option ? [element.initial_option] : []);
      const group = el("div", attrs, optionsOf(element).map((option) => el("label", { class: "choice" },
        el("input", {
          type: kind, name, value: option.value,
          checked: initial.some((chosen) => chosen.value === option.value),
          ...onchange(() => {
            const chosen = optionsOf(element).filter((o) => group.querySelector(`input[value="${CSS.escape(o.value)}"]`).checked);
            return kind === "checkbox" ? { selected_options: chosen } : { selected_option: chosen[0] && chosen[0].value };
          }),
        }),
        " ", span(option.text), option.description ? span(option.description, "span", { class: "description" }) : null)));
      return group;
    }
    case "plain_text_input":
      return element.multiline
        ? el("textarea", { ...attrs, placeholder: element.placeholder && element.placeholder.text, maxlength: element.max_length }, element.initial_value || "")
        : el("input", { ...attrs, type: "text", value: element.initial_value, placeholder: element.placeholder && element.placeholder.text, maxlength: element.max_length });
    case "number_input":
      return el("input", {
        ...attrs, type: "number", value: element.initial_value, min: element.min_value, max: element.max_value,
        step: element.is_decimal_allowed ? "any" : "1", placeholder: element.placeholder && element.placeholder.text,
      });
    case "email_text_input":
      return el("input", { ...attrs, type: "email", value: element.initial_value });
    case "url_text_input":
      return el("input", { ...attrs, type: "url", value: element.initial_value });
    case "image":
      return el("img", { src: imageSource(element), alt: element.alt_text, width: 64 });
    default:
      return unknown("element", element.type);
  }
}

function renderInput(block, where, inModal) {
  const errors = (where.errors || {});
  const error = errors[block.block_id];
  const field = renderElement(block.element, block, where, inModal);
  return el("div", { class: `block input${error ? " has-error" : ""}`, "data-block-id": block.block_id },
    el("label", { class: "label" }, span(block.label), block.optional ? el("span", { class: "optional" }, " (optional)") : null),
    field,
    block.hint ? span(block.hint, "div", { class: "hint" }) : null,
    error ? el("div", { class: "error", role: "alert" }, error) : null);
}

async function act(element, block, where, selection) {
  note("");
  const body = { action_id: element.action_id, block_id: block.block_id, ...selection };
  if (where.kind === "view") body.view_id = where.view_id;
  else Object.assign(body, { channel_id: where.channel_id, message_ts: where.message_ts });
  await api("action", body);
  await refresh();
}

// --- messages ----------------------------------------------------------------------------

function timeOf(ts) {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: TIMEZONE, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  }).format(new Date(Number(ts) * 1000));
}

function renderMessage(message, replies, inThread) {
  const isBot = message.user === state.data.bot_user_id;
  const where = { kind: "message", channel_id: state.channel, message_ts: message.ts };
  const body = message.blocks && message.blocks.length
    ? renderBlocks(message.blocks, where, false)
    : [el("div", { html: mrkdwn(message.text) })];
  const files = (message.files || []).map((file) =>
    el("figure", { class: "files" }, el("img", { src: `/files/${file.id}`, alt: file.title || file.name }),
      el("figcaption", {}, file.title || file.name)));
  return el("div", {
    class: `message${message.ephemeral ? " ephemeral" : ""}`, "data-ts": message.ts,
    "data-thread-ts": message.thread_ts,
  },
  el("div", { class: "meta" }, el("strong", {}, isBot ? "pmo-bot" : userName(message.user)),
    isBot ? el("span", { class: "app-tag" }, "APP") : null, timeOf(message.ts),
    message.edited ? el("span", { class: "edited" }, " (edited)") : null),
  body, files,
  message.ephemeral ? el("div", { class: "only-you" }, "Only visible to you") : null,
  !inThread && replies.length ? el("div", { class: "replies" }, el("a", {
    "data-open-thread": message.ts, onclick: () => { state.thread = message.ts; render(true); },
  }, `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`)) : null);
}

function threads(messages) {
  const top = [];
  const replies = {};
  for (const message of messages) {
    if (message.thread_ts && message.thread_ts !== message.ts) (replies[message.thread_ts] ||= []).push(message);
    else top.push(message);
  }
  return { top, replies };
}

function renderMessages() {
  const { top, replies } = threads(state.data.messages);
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren(...(top.length ? top.map((m) => renderMessage(m, replies[m.ts] || [], false))
    : [el("p", { class: "empty" }, "No messages yet. Type /pmo help below, or move the clock on.")]));
  if (atBottom || state.firstPaint) list.scrollTop = list.scrollHeight;
  const pane = $("thread");
  const parent = state.thread && top.find((m) => m.ts === state.thread);
  pane.hidden = !parent;
  if (parent) {
    $("thread-messages").replaceChildren(renderMessage(parent, [], true),
      ...(replies[parent.ts] || []).map((m) => renderMessage(m, [], true)));
  }
}

function renderHome() {
  const view = state.data.home;
  const key = view ? `${view.id}/${view.hash}` : "none";
  if (key === state.homeKey) return;
  state.homeKey = key;
  $("home").replaceChildren(...(view
    ? renderBlocks(view.blocks, { kind: "view", view_id: view.id }, false)
    : [el("p", {}, "Opening the Home tab…")]));
}

// --- modals ------------------------------------------------------------------------------

function renderModal() {
  const view = state.data.modal;
  const backdrop = $("modal-backdrop");
  const key = view ? `${view.id}/${view.hash}/${JSON.stringify(view.errors)}` : "none";
  if (key === state.modalKey) return;
  state.modalKey = key;
  backdrop.hidden = !view;
  if (!view) { $("modal").replaceChildren(); return; }
  const where = { kind: "view", view_id: view.id, errors: view.errors };
  $("modal").replaceChildren(
    el("div", { class: "modal-title" }, span(view.title),
      el("button", { type: "button", "aria-label": "Close", onclick: closeModal }, "✕")),
    el("div", { class: "modal-body" }, renderBlocks(view.blocks, where, true)),
    el("div", { class: "modal-footer" },
      el("button", { type: "button", id: "modal-close", onclick: closeModal }, view.close ? span(view.close) : "Cancel"),
      view.submit ? el("button", { type: "submit", id: "modal-submit", class: "primary" }, span(view.submit)) : null));
  $("modal").dataset.viewId = view.id;
}

async function closeModal() {
  await api("close", {});
  await refresh();
}

function readValue(element, node) {
  const entry = { type: element.type };
  const options = optionsOf(element);
  switch (element.type) {
    case "plain_text_input": case "email_text_input": case "url_text_input": case "number_input":
      entry.value = node.value === "" ? null : node.value; return [entry, node.value !== ""];
    case "static_select": case "external_select": {
      const option = options.find((o) => o.value === node.value);
      entry.selected_option = option || null; return [entry, !!option];
    }
    case "multi_static_select": {
      const chosen = [...node.selectedOptions].map((o) => options.find((x) => x.value === o.value));
      entry.selected_options = chosen; return [entry, chosen.length > 0];
    }
    case "users_select": entry.selected_user = node.value || null; return [entry, !!node.value];
    case "multi_users_select": {
      entry.selected_users = [...node.selectedOptions].map((o) => o.value); return [entry, entry.selected_users.length > 0];
    }
    case "conversations_select": entry.selected_conversation = node.value || null; return [entry, !!node.value];
    case "channels_select": entry.selected_channel = node.value || null; return [entry, !!node.value];
    case "datepicker": entry.selected_date = node.value || null; return [entry, !!node.value];
    case "timepicker": entry.selected_time = node.value || null; return [entry, !!node.value];
    case "checkboxes": {
      entry.selected_options = options.filter((o) => node.querySelector(`input[value="${CSS.escape(o.value)}"]`).checked);
      return [entry, entry.selected_options.length > 0];
    }
    case "radio_buttons": {
      const option = options.find((o) => node.querySelector(`input[value="${CSS.escape(o.value)}"]`).checked);
      entry.selected_option = option || null; return [entry, !!option];
    }
    default: return [entry, false];
  }
}

async function submitModal(event) {
  event.preventDefault();
  const view = state.data.modal;
  if (!view) return;
  const values = {};
  const missing = {};
  for (const block of view.blocks || []) {
    if (block.type !== "input") continue;
    const node = $("modal").querySelector(`[data-block-id="${CSS.escape(block.block_id)}"] [data-action-id="${CSS.escape(block.element.action_id)}"]`);
    if (!node) continue;
    const [entry, filled] = readValue(block.element, node);
    if (!filled && !block.optional) missing[block.block_id] = "Please complete this required field.";
    if (block.element.type === "number_input" && filled && !node.checkValidity()) {
      missing[block.block_id] = block.element.is_decimal_allowed ? "Please enter a number." : "Please enter a whole number.";
    }
    values[block.block_id] = { [block.element.action_id]: entry };
  }
  if (Object.keys(missing).length) {
    // Slack checks required fields in the client, before anything is sent.
    state.data.modal = { ...view, errors: { ...(view.errors || {}), ...missing } };
    keepTyped(() => renderModal());
    return;
  }
  $("modal-submit").disabled = true;
  await api("submit", { view_id: view.id, values });
  await refreshKeepingModalInput();
}

// Re-rendering a modal after an error must keep what the person typed, as Slack does.
function keepTyped(renderFn) {
  const typed = [...$("modal").querySelectorAll("[data-action-id]")].map((node) => [
    node.closest("[data-block-id]") && node.closest("[data-block-id]").dataset.blockId, node.dataset.actionId, snapshot(node)]);
  renderFn();
  for (const [blockId, actionId, value] of typed) {
    const node = $("modal").querySelector(`[data-block-id="${CSS.escape(blockId || "")}"] [data-action-id="${CSS.escape(actionId)}"]`);
    if (node) restore(node, value);
  }
}

function snapshot(node) {
  if (node.tagName === "SELECT") return [...node.options].map((o) => o.selected);
  if (node.tagName === "DIV") return [...node.querySelectorAll("input")].map((i) => i.checked);
  return node.value;
}

function restore(node, value) {
  if (node.tagName === "SELECT") [...node.options].forEach((o, i) => { o.selected = value[i]; });
  else if (node.tagName === "DIV") [...node.querySelectorAll("input")].forEach((input, i) => { input.checked = value[i]; });
  else node.value = value;
}

async function refreshKeepingModalInput() {
  const before = state.data.modal && state.data.modal.id;
  const data = await fetchState();
  if (data.modal && data.modal.id === before) keepTyped(() => apply(data));
  else apply(data);
}

// --- the page ----------------------------------------------------------------------------

function renderChrome() {
  const data = state.data;
  $("now").textContent = data.now_text;
  $("banner-text").textContent = data.banner;
  const who = $("who");
  if (!who.options.length) {
    who.replaceChildren(...data.people.map((p) => el("option", { value: p.id }, `${p.name} (${p.role})`)));
  }
  who.value = state.user;
  const link = (id, label) => el("li", {}, el("a", {
    href: "#", "data-channel": id, class: state.channel === id ? "active" : null,
    onclick: (event) => { event.preventDefault(); openChannel(id); },
  }, label));
  $("channels").replaceChildren(...data.channels.map((c) => link(c.id, `# ${c.name}`)));
  $("apps").replaceChildren(el("li", {}, el("a", {
    href: "#", "data-channel": "app", class: state.channel === "home" || state.channel === data.dm.id ? "active" : null,
    onclick: (event) => { event.preventDefault(); openApp("home"); },
  }, "🤖 pmo-bot")));
  const inApp = state.channel === "home" || state.channel === data.dm.id;
  $("tabs").hidden = !inApp;
  for (const button of $("tabs").querySelectorAll("button")) {
    button.classList.toggle("active", (button.dataset.tab === "home") === (state.channel === "home"));
  }
  $("channel-header").textContent = inApp ? "pmo-bot" : `# ${channelName(state.channel)}`;
  $("messages").hidden = state.channel === "home";
  $("composer-form").hidden = state.channel === "home";
  $("home").hidden = state.channel !== "home";
  $("composer").placeholder = inApp ? "Message pmo-bot: type /pmo help and press Enter"
    : `Message #${channelName(state.channel)}: type /pmo help and press Enter`;
}

function apply(data, force) {
  // Redraw only what shows something new: a redraw resets a half-made choice in a select.
  const key = JSON.stringify([data.messages, data.home && data.home.hash, data.now, state.user, state.channel, state.thread]);
  const changed = force || key !== state.renderedKey;
  state.data = data;
  renderModal();
  if (!changed) return;
  state.renderedKey = key;
  renderChrome();
  if (state.channel === "home") renderHome(); else renderMessages();
  state.firstPaint = false;
}

function render(force) {
  if (state.data) apply(state.data, force);
}

async function fetchState() {
  const query = new URLSearchParams({ user: state.user, channel: state.channel });
  const response = await fetch(`/api/state?${query}`);
  return response.json();
}

async function refresh(force) {
  apply(await fetchState(), force);
}

async function openChannel(id) {
  state.channel = id;
  state.thread = null;
  state.firstPaint = true;
  localStorage.setItem("demo.channel", id);
  await refresh(true);
}

async function openApp(tab) {
  if (tab === "home") {
    state.homeKey = null;
    await openChannel("home");
    await api("home", {});
  } else {
    await openChannel(state.data.dm.id);
  }
  await refresh(true);
}

async function init() {
  const first = await (await fetch(`/api/state?channel=C0PMO`)).json();
  const ids = first.people.map((p) => p.id);
  if (!ids.includes(state.user)) state.user = ids[0];
  if (!state.channel) state.channel = "C0PMO";
  state.data = first;
  state.firstPaint = true;
  $("who").addEventListener("change", async (event) => {
    state.user = event.target.value;
    localStorage.setItem("demo.user", state.user);
    state.modalKey = null;
    state.homeKey = null;
    if (state.channel.startsWith("D")) state.channel = `D${state.user}`;
    if (state.channel === "home") await openApp("home"); else await openChannel(state.channel);
  });
  for (const button of document.querySelectorAll("[data-step]")) {
    button.addEventListener("click", async () => {
      const buttons = document.querySelectorAll("[data-step]");
      buttons.forEach((b) => { b.disabled = true; });
      try { await api("clock", { step: button.dataset.step }); } finally { buttons.forEach((b) => { b.disabled = false; }); }
      await refresh(true);
    });
  }
  for (const button of $("tabs").querySelectorAll("button")) {
    button.addEventListener("click", () => openApp(button.dataset.tab));
  }
  $("thread-close").addEventListener("click", () => { state.thread = null; render(true); });
  $("modal").addEventListener("submit", submitModal);
  $("composer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("composer").value.trim();
    if (!text) return;
    if (!text.startsWith("/")) { note("This demo sends slash commands only: try /pmo help."); return; }
    $("composer").value = "";
    note("");
    await api("command", { channel_id: state.channel, text });
    await refresh();
  });
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-channel]");
    if (link && link.closest(".message, #home")) { event.preventDefault(); openChannel(link.dataset.channel); }
  });
  await openChannel(state.channel);
  setInterval(() => refresh().catch(() => note("The demo server stopped.")), POLL_MS);
}

init();
