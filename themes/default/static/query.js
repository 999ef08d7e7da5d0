/* xsite run queries: the browser's twin of src/xsite/query (same grammar, same semantics,
 * tested against the same table, xsite/query/cases.json). See docs/query.md.
 * Classic script, no dependencies, so that the site works from file:// too. Defines
 *   window.xsite.query = {parse, compile, defaultLookup, QuerySyntaxError, ATTRIBUTES}
 *
 *   const keep = xsite.query.compile('metrics.val/acc > 0.9 and tags contains "cnn"');
 *   rows.filter(keep);
 *
 * compile(text, lookup) takes an optional lookup(row, field) -> value, field being
 * {kind: "metrics"|"params"|"attr"|"text", key}; kinds it does not handle can go to
 * defaultLookup, which reads canonical rows. Positions are 0-based UTF-16 indices.
 */
(function () {
  "use strict";

  const ATTRIBUTES = ["id", "name", "project", "status", "tags", "started_at", "ended_at",
    "duration_s", "notes"];
  const ALIASES = { run_id: "id" };
  const ORDERING = new Set(["<", "<=", ">", ">="]);
  const WHITESPACE = new Set([" ", "\t", "\n", "\r", "\f", "\v"]);
  const STOP = new Set([...WHITESPACE, "(", ")", "=", "!", "<", ">", ","]);
  const ESCAPABLE = new Set(["'", '"', "`", "\\"]);
  const KEYWORDS = new Set(["and", "or", "not", "contains", "in"]);
  const LITERALS = new Map([["true", true], ["false", false], ["null", null]]);
  const PREFIXES = new Map([["metrics.", "metrics"], ["params.", "params"]]);
  const NUMBER = /^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
  const TEXT_FIELD = Object.freeze({ kind: "text", key: "" });
  const hasOwn = Object.prototype.hasOwnProperty;

  class QuerySyntaxError extends Error {
    constructor(reason, position, hint) {
      super(reason + " at position " + position + (hint ? " (" + hint + ")" : ""));
      this.name = "QuerySyntaxError";
      this.reason = reason;
      this.position = position;
    }
  }

  // ------------------------------------------------------------------ tokens

  function tokenize(text) {
    const tokens = [];
    const n = text.length;
    let i = 0;
    while (i < n) {
      const c = text[i];
      if (WHITESPACE.has(c)) {
        i += 1;
      } else if (c === "(" || c === ")" || c === ",") {
        tokens.push({ kind: c, raw: c, pos: i });
        i += 1;
      } else if (c === "=" || c === "!" || c === "<" || c === ">") {
        const two = text.slice(i, i + 2);
        if (two === "==" || two === "!=" || two === "<=" || two === ">=") {
          tokens.push({ kind: "op", raw: two, pos: i, value: two === "==" ? "=" : two });
          i += 2;
        } else if (c === "!") {
          throw new QuerySyntaxError("unexpected '!'", i, "did you mean '!='?");
        } else {
          tokens.push({ kind: "op", raw: c, pos: i, value: c });
          i += 1;
        }
      } else if (c === "'" || c === '"') {
        const [value, end] = quoted(text, i, "string");
        tokens.push({ kind: "string", raw: text.slice(i, end), pos: i, value });
        i = end;
      } else if (c === "`") {
        throw new QuerySyntaxError("a `quoted` key needs metrics. or params. before it", i);
      } else {
        const [token, end] = word(text, i);
        tokens.push(token);
        i = end;
      }
    }
    return tokens;
  }

  function quoted(text, start, what) {
    const quote = text[start];
    let out = "";
    let j = start + 1;
    while (j < text.length) {
      const c = text[j];
      if (c === "\\" && j + 1 < text.length && ESCAPABLE.has(text[j + 1])) {
        out += text[j + 1];
        j += 2;
      } else if (c === quote) {
        return [out, j + 1];
      } else {
        out += c;
        j += 1;
      }
    }
    throw new QuerySyntaxError("unterminated " + what, start);
  }

  function word(text, start) {
    let j = start;
    while (j < text.length && !STOP.has(text[j])) {
      const prefix = text[j] === "`" ? text.slice(start, j).toLowerCase() : null;
      if (prefix !== null && PREFIXES.has(prefix)) {
        const [key, end] = quoted(text, j, "quoted key");
        if (end < text.length && !STOP.has(text[end])) {
          throw new QuerySyntaxError("unexpected character after a quoted key", end);
        }
        const field = { kind: PREFIXES.get(prefix), key };
        return [{ kind: "field", raw: text.slice(start, end), pos: start, field }, end];
      }
      j += 1;
    }
    const raw = text.slice(start, j);
    const lower = raw.toLowerCase();
    if (KEYWORDS.has(lower)) return [{ kind: "keyword", raw, pos: start, value: lower }, j];
    if (NUMBER.test(raw)) return [{ kind: "number", raw, pos: start, value: Number(raw) }, j];
    for (const [prefix, kind] of PREFIXES) {
      if (lower.startsWith(prefix)) {
        if (raw.length === prefix.length) {
          throw new QuerySyntaxError("expected a key after '" + raw + "'", j);
        }
        const field = { kind, key: raw.slice(prefix.length) };
        return [{ kind: "field", raw, pos: start, field }, j];
      }
    }
    return [{ kind: "word", raw, pos: start }, j];
  }

  // ------------------------------------------------------------------ parser

  /** The syntax tree of `text` (null for an empty query); throws QuerySyntaxError. */
  function parse(text) {
    const p = new Parser(String(text));
    if (p.peek() === null) return null;
    const expr = p.orExpr();
    const token = p.peek();
    if (token !== null) throw new QuerySyntaxError("unexpected '" + token.raw + "'", token.pos);
    return expr;
  }

  class Parser {
    constructor(text) {
      this.text = text;
      this.tokens = tokenize(text);
      this.index = 0;
    }

    peek(ahead = 0) {
      const i = this.index + ahead;
      return i < this.tokens.length ? this.tokens[i] : null;
    }

    next() {
      return this.tokens[this.index++];
    }

    here() {
      const token = this.peek();
      return token === null ? this.text.length : token.pos;
    }

    isKeyword(word, ahead = 0) {
      const token = this.peek(ahead);
      return token !== null && token.kind === "keyword" && token.value === word;
    }

    orExpr() {
      const operands = [this.andExpr()];
      while (this.isKeyword("or")) {
        this.next();
        operands.push(this.andExpr());
      }
      return operands.length === 1 ? operands[0] : { type: "or", operands };
    }

    andExpr() {
      const operands = [this.notExpr()];
      for (;;) {
        if (this.isKeyword("and")) this.next();
        else if (!this.startsOperand()) break;
        operands.push(this.notExpr());
      }
      return operands.length === 1 ? operands[0] : { type: "and", operands };
    }

    startsOperand() {
      const token = this.peek();
      if (token === null) return false;
      if (token.kind === "keyword") return token.value === "not";
      return ["(", "field", "word", "string", "number"].includes(token.kind);
    }

    notExpr() {
      if (this.isKeyword("not")) {
        this.next();
        return { type: "not", operand: this.notExpr() };
      }
      return this.atom();
    }

    atom() {
      const token = this.peek();
      if (token === null || !this.startsOperand()) {
        const previous = this.index ? this.tokens[this.index - 1] : null;
        const after = previous ? " after '" + previous.raw + "'" : "";
        throw new QuerySyntaxError("expected a condition" + after, this.here());
      }
      this.next();
      if (token.kind === "(") {
        const expr = this.orExpr();
        const closing = this.peek();
        if (closing === null || closing.kind !== ")") {
          throw new QuerySyntaxError("expected ')'", this.here());
        }
        this.next();
        return expr;
      }
      if (token.kind === "field") return this.condition(token, token.field);
      if (token.kind === "word" && this.startsCondition()) {
        let name = token.raw.toLowerCase();
        if (hasOwn.call(ALIASES, name)) name = ALIASES[name];
        if (!ATTRIBUTES.includes(name)) {
          throw new QuerySyntaxError("unknown field '" + token.raw + "'", token.pos,
            "did you mean metrics." + token.raw + " or params." + token.raw +
            "? Quote text to search for it");
        }
        return this.condition(token, { kind: "attr", key: name });
      }
      if (token.kind === "string") return { type: "text", term: token.value.toLowerCase() };
      return { type: "text", term: token.raw.toLowerCase() };
    }

    startsCondition() {
      const token = this.peek();
      if (token === null) return false;
      if (token.kind === "op" || this.isKeyword("contains") || this.isKeyword("in")) return true;
      return this.isKeyword("not") && this.isKeyword("in", 1);
    }

    condition(fieldToken, field) {
      const token = this.peek();
      if (token !== null && token.kind === "op") {
        this.next();
        const op = token.value;
        if (field.kind === "attr" && field.key === "tags" && ORDERING.has(op)) {
          throw new QuerySyntaxError("tags can't be compared with '" + token.raw +
            "'; use =, contains or in", token.pos);
        }
        const [value, valuePos] = this.value(token);
        if (ORDERING.has(op) && (value === null || typeof value === "boolean")) {
          throw new QuerySyntaxError("expected a number or a string after '" + token.raw + "'",
            valuePos);
        }
        return { type: "compare", field, op, value };
      }
      if (this.isKeyword("contains")) {
        const keyword = this.next();
        const [value, valuePos] = this.value(keyword);
        if (value === null) {
          throw new QuerySyntaxError("expected a string, number or boolean after '" +
            keyword.raw + "'", valuePos);
        }
        return { type: "compare", field, op: "contains", value };
      }
      const negated = this.isKeyword("not") && this.isKeyword("in", 1);
      if (negated) this.next();
      if (this.isKeyword("in")) {
        return { type: "in", field, values: this.valueList(this.next()), negated };
      }
      throw new QuerySyntaxError("expected an operator after '" + fieldToken.raw + "'",
        this.here());
    }

    value(after) {
      const token = this.peek();
      const position = this.here();
      if (token !== null) {
        if (token.kind === "string" || token.kind === "number") {
          this.next();
          return [token.value, position];
        }
        const literal = token.raw.toLowerCase();
        if (token.kind === "word" && LITERALS.has(literal)) {
          this.next();
          return [LITERALS.get(literal), position];
        }
        if (token.kind === "word") {
          throw new QuerySyntaxError("expected a value after '" + after.raw + "'", position,
            'put text in quotes: "' + token.raw + '"');
        }
      }
      throw new QuerySyntaxError("expected a value after '" + after.raw + "'", position);
    }

    valueList(inToken) {
      const opening = this.peek();
      if (opening === null || opening.kind !== "(") {
        throw new QuerySyntaxError("expected '(' after '" + inToken.raw + "'", this.here());
      }
      this.next();
      const values = [this.value(opening)[0]];
      for (;;) {
        const token = this.peek();
        if (token !== null && token.kind === ")") {
          this.next();
          return values;
        }
        if (token === null || token.kind !== ",") {
          throw new QuerySyntaxError("expected ',' or ')'", this.here());
        }
        this.next();
        values.push(this.value(token)[0]);
      }
    }
  }

  // ------------------------------------------------------------------ evaluation

  // The site's JSON spells non-finite numbers this way; metrics and params read them back
  // as numbers so that a run compares the same here and in Python.
  const SPELLED = new Map([["NaN", NaN], ["Infinity", Infinity], ["-Infinity", -Infinity]]);
  // Rows are treated as immutable: a row's free-text haystack is built once.
  const haystacks = new WeakMap();

  function defaultLookup(row, field) {
    if (field.kind === "attr") return hasOwn.call(row, field.key) ? row[field.key] : undefined;
    if (field.kind === "text") {
      let hay = haystacks.get(row);
      if (hay === undefined) {
        hay = haystack(row);
        haystacks.set(row, hay);
      }
      return hay;
    }
    const group = row[field.kind];
    return group != null && hasOwn.call(group, field.key) ? group[field.key] : undefined;
  }

  /** What free-text terms search: id, name, status, tags and param values, lower-cased. */
  function haystack(row) {
    const pieces = [];
    addText(pieces, row.id);
    addText(pieces, row.name);
    addText(pieces, row.status);
    addText(pieces, row.tags);
    if (row.params != null) addText(pieces, Object.values(row.params));
    return pieces.join("\u0000").toLowerCase();
  }

  function addText(pieces, v) {
    if (v == null) return;
    if (typeof v === "string") pieces.push(v);
    else if (typeof v === "boolean") pieces.push(v ? "true" : "false");
    else if (typeof v === "number") pieces.push(String(v));
    else if (Array.isArray(v)) for (const item of v) addText(pieces, item);
    else if (typeof v === "object") for (const item of Object.values(v)) addText(pieces, item);
  }

  function normal(v) {
    if (typeof v === "string") return SPELLED.has(v) ? SPELLED.get(v) : v;
    if (Array.isArray(v)) return v.map(normal);
    return v === undefined ? null : v;
  }

  /** A predicate row -> boolean for `query` (a string, or what parse returned). */
  function compile(query, lookup) {
    const expr = typeof query === "string" ? parse(query) : query;
    const get = typeof lookup === "function" ? lookup : defaultLookup;
    if (expr == null) return () => true;
    return build(expr, get);
  }

  function build(expr, get) {
    switch (expr.type) {
      case "and": {
        const parts = expr.operands.map((e) => build(e, get));
        return (row) => {
          for (let i = 0; i < parts.length; i++) if (!parts[i](row)) return false;
          return true;
        };
      }
      case "or": {
        const parts = expr.operands.map((e) => build(e, get));
        return (row) => {
          for (let i = 0; i < parts.length; i++) if (parts[i](row)) return true;
          return false;
        };
      }
      case "not": {
        const inner = build(expr.operand, get);
        return (row) => !inner(row);
      }
      case "text": {
        const term = expr.term;
        return (row) => (get(row, TEXT_FIELD) || "").includes(term);
      }
      default: {
        const field = Object.freeze({ kind: expr.field.kind, key: expr.field.key });
        const isTags = field.kind === "attr" && field.key === "tags";
        const test = isTags ? tagsTest(expr) : valueTest(expr);
        if (field.kind === "attr") {
          return (row) => {
            const v = get(row, field);
            return test(v === undefined ? null : v);
          };
        }
        return (row) => test(normal(get(row, field)));
      }
    }
  }

  // A missing value (null) never compares true, except `= null` (and `!= null` asks that
  // the value is present).
  function valueTest(expr) {
    if (expr.type === "in") {
      const tests = expr.values.map((v) => compare(expr.negated ? "!=" : "=", v));
      if (expr.negated) return (v) => tests.every((t) => t(v));
      return (v) => tests.some((t) => t(v));
    }
    return compare(expr.op, expr.value);
  }

  function compare(op, literal) {
    if (literal === null) return op === "=" ? (v) => v === null : (v) => v !== null;
    switch (op) {
      case "=":
        return (v) => v !== null && equal(v, literal);
      case "!=":
        return (v) => v !== null && !Number.isNaN(v) && !equal(v, literal);
      case "contains": {
        const lower = typeof literal === "string" ? literal.toLowerCase() : null;
        return (v) => v !== null && contains(v, literal, lower);
      }
      case "<":
        return (v) => typeof v === typeof literal && v < literal;
      case "<=":
        return (v) => typeof v === typeof literal && v <= literal;
      case ">":
        return (v) => typeof v === typeof literal && v > literal;
      default:
        return (v) => typeof v === typeof literal && v >= literal;
    }
  }

  // Tags are a set of labels: =, contains and in ask whether one of them equals a value
  // (ignoring case); = null asks whether there are none.
  function tagsTest(expr) {
    const values = expr.type === "in" ? expr.values : [expr.value];
    const negated = expr.type === "in" ? expr.negated : expr.op === "!=";
    const lowers = values.map((v) => (typeof v === "string" ? v.toLowerCase() : null));
    const hasAny = (tags) => {
      const list = tags == null ? [] : tags;
      for (let i = 0; i < values.length; i++) {
        if (values[i] === null ? list.length === 0 : contains(list, values[i], lowers[i])) {
          return true;
        }
      }
      return false;
    };
    return negated ? (tags) => !hasAny(tags) : hasAny;
  }

  // No coercion: a number never equals a string, and true is not 1.
  function equal(v, literal) {
    return typeof v === typeof literal && v === literal;
  }

  function contains(v, literal, lower) {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const item = v[i];
        if (typeof item === "string" && lower !== null) {
          if (item.toLowerCase() === lower) return true;
        } else if (item != null && equal(item, literal)) {
          return true;
        }
      }
      return false;
    }
    return typeof v === "string" && lower !== null && v.toLowerCase().includes(lower);
  }

  window.xsite = window.xsite || {};
  window.xsite.query = { parse, compile, defaultLookup, QuerySyntaxError, ATTRIBUTES };
})();
