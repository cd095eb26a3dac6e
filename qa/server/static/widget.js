/* qa chat widget. Embed it with one tag:
 *   <script src="https://HOST/widget.js" data-qa-url="https://HOST"></script>
 * Optional attributes: data-qa-url (the qa server; default: where this script came from; "" means
 * the page's own origin), data-qa-title, data-qa-placeholder, data-qa-lang ("en" or "zh" UI strings).
 * Plain ES2018, no dependencies. Server text is only ever set with textContent.
 * Opened from code with window.qaWidget.open(), .close(), .toggle() or .ask("question").
 */
(function () {
  "use strict";
  if (window.qaWidget) return; // the tag is on the page twice

  const script = document.currentScript || document.querySelector("script[src*='widget.js']");
  const attr = (name) => (script ? script.getAttribute(name) : null);

  const STRINGS = {
    en: {
      title: "Questions? Ask us",
      open: "Open the FAQ chat",
      close: "Close the FAQ chat",
      closeShort: "Close",
      placeholder: "Ask a question…",
      inputLabel: "Your question",
      send: "Send",
      log: "Conversation",
      hello: "Hello! Ask me a question, in English or Chinese.",
      thinking: "Thinking…",
      confident: (p) => `${p}% confident`,
      ambiguous: "Not sure",
      fallback: "No answer",
      didYouMean: "Did you mean:",
      related: "Related questions:",
      helpful: "Helpful",
      notHelpful: "Not helpful",
      thanks: "Thanks!",
      noFeedback: "Feedback is not accepted here.",
      matched: "Matched:",
      truncated: "Your question was long: only its beginning was used.",
      network: "Cannot reach the FAQ server. Check your connection and try again.",
      timeout: "The FAQ server took too long to answer. Please try again.",
      http: (s) => `The FAQ server answered with an error (HTTP ${s}).`,
      user: "You",
      bot: "Bot",
    },
    zh: {
      title: "有问题？问我吧",
      open: "打开问答窗口",
      close: "关闭问答窗口",
      closeShort: "关闭",
      placeholder: "请输入问题…",
      inputLabel: "你的问题",
      send: "发送",
      log: "对话",
      hello: "你好！请用中文或英文提问。",
      thinking: "正在思考…",
      confident: (p) => `置信度 ${p}%`,
      ambiguous: "不确定",
      fallback: "没有答案",
      didYouMean: "您是想问：",
      related: "相关问题：",
      helpful: "有帮助",
      notHelpful: "没有帮助",
      thanks: "谢谢反馈！",
      noFeedback: "这里不接受反馈。",
      matched: "匹配：",
      truncated: "问题太长，只使用了开头部分。",
      network: "无法连接问答服务器，请检查网络后重试。",
      timeout: "问答服务器响应超时，请重试。",
      http: (s) => `问答服务器返回错误（HTTP ${s}）。`,
      user: "你",
      bot: "机器人",
    },
  };
  const TIMEOUT_MS = 20000;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const ICONS = {
    chat: "M20 2H4c-1.1 0-2 .9-2 2v18l4-4h14c1.1 0 2-.9 2-2V4c0-1.1-.9-2-2-2z",
    close:
      "M19 6.41 17.59 5 12 10.59 6.41 5 5 6.41 10.59 12 5 17.59 6.41 19 12 13.41 17.59 19 19 17.59 13.41 12z",
    thumb:
      "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 " +
      "7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23" +
      ".14-.47.14-.73v-2z",
  };

  // ---- configuration ------------------------------------------------------------------------
  function serverUrl() {
    const given = attr("data-qa-url");
    if (given !== null) return given.trim().replace(/\/+$/, ""); // "" = this page's origin
    if (script && script.src) return new URL(".", script.src).href.replace(/\/+$/, "");
    return "";
  }
  function uiLang() {
    const given = attr("data-qa-lang") || document.documentElement.lang || navigator.language || "en";
    return given.toLowerCase().startsWith("zh") ? "zh" : "en";
  }
  const base = serverUrl();
  const lang = uiLang();
  const ui = STRINGS[lang];
  const textsFor = (l) => STRINGS[l] || ui;

  // ---- small DOM helpers --------------------------------------------------------------------
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function icon(name) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "qa-w-icon");
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }
  function button(cls, text) {
    const b = el("button", cls, text);
    b.type = "button";
    return b;
  }
  /** Text with `code` spans, built from text nodes: never parsed as HTML. */
  function richText(node, text) {
    const parts = String(text).split("`");
    if (parts.length % 2 === 0) {
      node.textContent = String(text); // an unpaired backtick: show it as it is
      return node;
    }
    parts.forEach((part, i) => {
      if (!part) return;
      node.appendChild(i % 2 ? el("code", "qa-w-code", part) : document.createTextNode(part));
    });
    return node;
  }
  function percent(c) {
    const p = Math.round(Number(c) * 100);
    if (!(p >= 0)) return 0;
    return c > 0 && c < 1 ? Math.min(99, Math.max(1, p)) : Math.min(100, p); // never "100%" unless sure
  }

  // ---- talking to the server ----------------------------------------------------------------
  class ServerError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }
  async function call(method, path, body) {
    const abort = typeof AbortController === "function" ? new AbortController() : null;
    const timer = abort ? setTimeout(() => abort.abort(), TIMEOUT_MS) : 0;
    const init = { method, headers: { Accept: "application/json" }, credentials: "omit" };
    if (abort) init.signal = abort.signal;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(base + path, init);
    } catch (e) {
      throw new ServerError(e && e.name === "AbortError" ? ui.timeout : ui.network, 0);
    } finally {
      clearTimeout(timer);
    }
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null; // not JSON: reported below
    }
    if (!res.ok || !data || typeof data !== "object") {
      const message = data && typeof data.error === "string" ? data.error : ui.http(res.status);
      throw new ServerError(message, res.status);
    }
    return data;
  }

  // ---- the widget ---------------------------------------------------------------------------
  const uid = Math.random().toString(36).slice(2, 8);
  const root = el("div", "qa-w-root");
  root.lang = lang;
  root.hidden = true; // shown once widget.css has loaded (or failed), so it never flashes unstyled

  const panel = el("div", "qa-w-panel");
  panel.id = `qa-w-panel-${uid}`;
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-labelledby", `qa-w-title-${uid}`);

  const head = el("div", "qa-w-head");
  const title = el("div", "qa-w-title", attr("data-qa-title") || ui.title);
  title.id = `qa-w-title-${uid}`;
  const closeBtn = button("qa-w-close");
  closeBtn.setAttribute("aria-label", ui.closeShort);
  closeBtn.title = ui.closeShort;
  closeBtn.appendChild(icon("close"));
  head.append(title, closeBtn);

  const log = el("div", "qa-w-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", ui.log);
  log.tabIndex = 0; // keyboard users can scroll a long conversation

  const form = el("form", "qa-w-form");
  form.noValidate = true;
  const label = el("label", "qa-w-sr", ui.inputLabel);
  label.htmlFor = `qa-w-input-${uid}`;
  const input = el("input", "qa-w-input");
  input.id = `qa-w-input-${uid}`;
  input.type = "text";
  input.autocomplete = "off";
  input.enterKeyHint = "send";
  input.placeholder = attr("data-qa-placeholder") || ui.placeholder;
  const sendBtn = el("button", "qa-w-send", ui.send);
  sendBtn.type = "submit";
  form.append(label, input, sendBtn);
  panel.append(head, log, form);

  const bubble = button("qa-w-bubble");
  bubble.setAttribute("aria-expanded", "false");
  bubble.setAttribute("aria-controls", panel.id);
  bubble.setAttribute("aria-label", ui.open);
  bubble.title = ui.open;
  bubble.append(icon("chat"), icon("close"));
  root.append(panel, bubble);

  let busy = false;
  let greeted = false;
  // Thumbs only where the server takes feedback from anyone (no --token): /health says so, and is
  // asked once, when the panel first opens.
  let feedbackOpen = true;

  function isOpen() {
    return !panel.hidden;
  }
  function open() {
    if (!greeted) {
      greeted = true;
      call("GET", "/health")
        .then((h) => {
          if (h && h.feedback_needs_token === true) feedbackOpen = false;
        })
        .catch(() => {});
      addBot("qa-w-hello").appendChild(el("div", "qa-w-text", ui.hello));
    }
    panel.hidden = false;
    root.classList.add("qa-w-open");
    bubble.setAttribute("aria-expanded", "true");
    bubble.setAttribute("aria-label", ui.close);
    bubble.title = ui.close;
    input.focus();
  }
  function close() {
    if (!isOpen()) return;
    panel.hidden = true;
    root.classList.remove("qa-w-open");
    bubble.setAttribute("aria-expanded", "false");
    bubble.setAttribute("aria-label", ui.open);
    bubble.title = ui.open;
    bubble.focus();
  }
  function toggle() {
    if (isOpen()) close();
    else open();
  }

  function scrollTo(msg) {
    // the new message's top stays in view when it is taller than the log
    const top = msg.offsetTop - 8;
    log.scrollTop = msg.offsetHeight > log.clientHeight ? top : log.scrollHeight;
  }
  function addUser(text) {
    const msg = el("div", "qa-w-msg qa-w-user");
    msg.appendChild(el("span", "qa-w-sr", `${ui.user}: `));
    msg.appendChild(el("div", "qa-w-text", text));
    log.appendChild(msg);
    scrollTo(msg);
    return msg;
  }
  function addBot(cls) {
    const msg = el("div", `qa-w-msg qa-w-bot ${cls || ""}`.trim());
    log.appendChild(msg);
    scrollTo(msg);
    return msg;
  }
  function addError(message) {
    const msg = addBot("qa-w-error");
    msg.appendChild(el("div", "qa-w-text", message));
    scrollTo(msg);
  }
  function addPending() {
    const msg = addBot("qa-w-pending");
    msg.appendChild(el("span", "qa-w-sr", ui.thinking));
    const dots = el("span", "qa-w-dots");
    dots.setAttribute("aria-hidden", "true");
    dots.append(el("span"), el("span"), el("span"));
    msg.appendChild(dots);
    return msg;
  }
  function setBusy(on) {
    busy = on;
    sendBtn.disabled = on;
    log.setAttribute("aria-busy", on ? "true" : "false");
  }

  function thumbs(question, entryId, t) {
    const row = el("div", "qa-w-feedback");
    const note = el("span", "qa-w-note");
    note.setAttribute("role", "status");
    const make = (helpful) => {
      const b = button(`qa-w-thumb ${helpful ? "qa-w-up" : "qa-w-down"}`);
      b.setAttribute("aria-label", helpful ? t.helpful : t.notHelpful);
      b.title = helpful ? t.helpful : t.notHelpful;
      b.setAttribute("aria-pressed", "false");
      b.appendChild(icon("thumb"));
      return b;
    };
    const up = make(true);
    const down = make(false);
    const lock = (on) => [up, down].forEach((b) => b.setAttribute("aria-disabled", on ? "true" : "false"));
    const send = async (helpful, b) => {
      if (b.getAttribute("aria-disabled") === "true") return;
      lock(true); // aria-disabled rather than disabled: the focus stays on the button
      b.setAttribute("aria-pressed", "true");
      try {
        await call("POST", "/feedback", { question, entry_id: entryId, helpful });
        note.textContent = t.thanks;
      } catch (e) {
        if (e.status === 401) {
          note.textContent = t.noFeedback; // nothing was stored, and trying again will not help
          b.setAttribute("aria-pressed", "false");
          return;
        }
        note.textContent = e.message; // another error: let the user try again
        b.setAttribute("aria-pressed", "false");
        lock(false);
      }
    };
    up.addEventListener("click", () => send(true, up));
    down.addEventListener("click", () => send(false, down));
    row.append(up, down, note);
    return row;
  }

  function choices(items, question, t) {
    const list = el("ul", "qa-w-choices");
    items.forEach((s, i) => {
      const li = el("li");
      const b = button("qa-w-choice");
      b.appendChild(el("span", "qa-w-choice-q", s.question));
      b.appendChild(el("span", "qa-w-choice-p", `${percent(s.confidence)}%`));
      b.setAttribute("aria-label", `${i + 1}) ${s.question} (${t.confident(percent(s.confidence))})`);
      b.addEventListener("click", () => pick(s, question, t));
      li.appendChild(b);
      list.appendChild(li);
    });
    return list;
  }

  function renderAnswer(ans, asked) {
    const t = textsFor(ans.lang);
    const status = ["answered", "ambiguous", "fallback"].includes(ans.status) ? ans.status : "fallback";
    const question = ans.question || asked; // as the server understood it: feedback uses the same words
    const msg = addBot(`qa-w-${status}`);
    const pct = percent(ans.confidence);
    const conf = el("div", "qa-w-conf");
    if (status === "answered") {
      richText(msg.appendChild(el("div", "qa-w-text")), ans.text);
      conf.textContent = t.confident(pct);
    } else {
      const intro = status === "ambiguous" ? t.didYouMean : ans.text;
      msg.appendChild(el("div", "qa-w-text", intro));
      conf.textContent = `${status === "ambiguous" ? t.ambiguous : t.fallback} · ${t.confident(pct)}`;
    }
    msg.appendChild(conf);
    if (ans.truncated) msg.appendChild(el("div", "qa-w-small", t.truncated));
    const sugg = Array.isArray(ans.suggestions) ? ans.suggestions : [];
    if (status === "ambiguous" && sugg.length) {
      msg.appendChild(choices(sugg.slice(0, 2), question, t));
    } else if (status === "fallback" && sugg.length) {
      msg.appendChild(el("div", "qa-w-small", t.related));
      msg.appendChild(choices(sugg, question, t));
    }
    if (status === "answered" && ans.entry_id) {
      if (ans.matched_question) msg.appendChild(el("div", "qa-w-small", `${t.matched} ${ans.matched_question}`));
      if (feedbackOpen) msg.appendChild(thumbs(question, ans.entry_id, t));
    }
    scrollTo(msg);
  }

  async function pick(s, question, t) {
    if (busy) return;
    addUser(s.question);
    setBusy(true);
    const pending = addPending();
    try {
      const entry = await call("GET", `/entries/${encodeURIComponent(s.entry_id)}`);
      pending.remove();
      const te = entry.lang ? textsFor(entry.lang) : t;
      const msg = addBot("qa-w-answered qa-w-picked");
      richText(msg.appendChild(el("div", "qa-w-text")), entry.answer);
      if (feedbackOpen) msg.appendChild(thumbs(question, entry.id, te));
      scrollTo(msg);
    } catch (e) {
      pending.remove();
      addError(e.message);
    } finally {
      setBusy(false);
    }
  }

  async function ask(text) {
    const question = String(text || "").trim();
    if (!question || busy) return;
    addUser(question);
    input.value = "";
    setBusy(true);
    const pending = addPending();
    try {
      const ans = await call("POST", "/ask", { question });
      pending.remove();
      renderAnswer(ans, question);
    } catch (e) {
      pending.remove();
      addError(e.message);
    } finally {
      setBusy(false);
    }
  }

  // ---- events -------------------------------------------------------------------------------
  bubble.addEventListener("click", toggle);
  closeBtn.addEventListener("click", close);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    ask(input.value);
  });
  input.addEventListener("keydown", (e) => {
    // Enter that confirms an IME composition (Chinese, Japanese...) must not send the question
    if (e.key === "Enter" && (e.isComposing || e.keyCode === 229)) e.preventDefault();
  });
  root.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && isOpen()) {
      e.preventDefault();
      close();
    }
  });

  // ---- mount --------------------------------------------------------------------------------
  function mount() {
    const css = `${base}/widget.css`;
    const href = new URL(css, location.href).href;
    const present = Array.from(document.querySelectorAll("link[rel=stylesheet]")).some((l) => l.href === href);
    if (present) {
      root.hidden = false;
    } else {
      const link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = css;
      link.addEventListener("load", () => (root.hidden = false));
      link.addEventListener("error", () => (root.hidden = false));
      document.head.appendChild(link);
    }
    document.body.appendChild(root);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  window.qaWidget = {
    open,
    close,
    toggle,
    ask: (question) => {
      open();
      return ask(question);
    },
  };
})();
