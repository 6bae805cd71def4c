/*
 * rr_sha256: one function Node lacks. sha256Each(data, ends, out) hashes many short messages laid end to end in one
 * call: message i is data[ends[i-1] .. ends[i]) (message 0 starts at 0), its SHA-256 goes to out[32 i .. 32 i + 32).
 * node:crypto takes one call per message, about 1 µs each for the ~200-byte canonical entries a relayed 3.0.0 batch
 * carries, where the hashing itself (OpenSSL, with the CPU's SHA extensions) is a tenth of that. The hashing is
 * OpenSSL's own (SHA256_Init/Update/Final), the one Node links in and exports to addons: nothing of SHA-256 is
 * written here.
 *
 * sha256EntriesJson(...) (below) is the same hashing with the canonical bytes written here, from the received
 * message's own JSON text, instead of in JS from the parsed entries.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <node_api.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static napi_value fail (napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

/* The bytes of a Uint8Array or Buffer argument, or false when it is none. */
static bool bytes_of (napi_env env, napi_value value, napi_typedarray_type want, void **data, size_t *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return false;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, data, &buffer, &offset) != napi_ok) return false;
  return type == want;
}

static napi_value sha256_each (napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3) return fail(env, "sha256Each(data, ends, out): three arguments");
  void *data, *ends_data, *out;
  size_t data_length, count, out_length;
  if (!bytes_of(env, argv[0], napi_uint8_array, &data, &data_length)) return fail(env, "sha256Each: data must be a Uint8Array");
  if (!bytes_of(env, argv[1], napi_uint32_array, &ends_data, &count)) return fail(env, "sha256Each: ends must be a Uint32Array");
  if (!bytes_of(env, argv[2], napi_uint8_array, &out, &out_length)) return fail(env, "sha256Each: out must be a Uint8Array");
  const uint32_t *ends = ends_data;
  if (out_length < count * SHA256_DIGEST_LENGTH) return fail(env, "sha256Each: out is shorter than 32 bytes per message");
  size_t start = 0;
  for (size_t i = 0; i < count; i++) {
    if (ends[i] < start || ends[i] > data_length) return fail(env, "sha256Each: ends must ascend within data");
    start = ends[i];
  }
  /* SHA256_Init/Update/Final, not SHA256(): since OpenSSL 3.0 that one-shot fetches the algorithm from a provider
     on every call, which costs more than hashing a short message. */
  SHA256_CTX ctx;
  start = 0;
  for (size_t i = 0; i < count; i++) {
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, (const unsigned char *)data + start, ends[i] - start);
    SHA256_Final((unsigned char *)out + i * SHA256_DIGEST_LENGTH, &ctx);
    start = ends[i];
  }
  return NULL;
}

/*
 * sha256EntriesJson(json, tag, names, optional, tails, tailEnds, which, out, state): the SHA-256 of the canonical
 * bytes (docs/PROTOCOL.md, "Canonical bytes") of each entry of a received message, written from the message's own
 * JSON text. Nothing of the layout is fixed here: the domain tag, the fields' names in their order (`names`, each
 * name's bytes then a NUL), which of them are optional (`optional`, a byte each) and each origin's closing part
 * (`tails`, message t is tails[tailEnds[t-1] .. tailEnds[t])) come from src/core/signature.ts, which writes the same
 * bytes in JS (writeCanonical) from the parsed entry.
 *
 * The message must be one JSON object whose top-level `entries` is an array (JSON.parse has read the same text, so
 * it is valid JSON). Entry i (its place in that array) is hashed under tail which[i] (none when -1); its digest goes
 * to out[32 i ..] and state[i] is set to 1. A field named twice is read as JSON.parse reads it: the last. Anything
 * outside the plain form rustory writes makes state[i] 2 and leaves that entry to the JS writer: a key with an
 * escape in it (JSON.parse would read "cm\u0064" as cmd), a required field missing or null, a field neither string
 * nor integer, an integer not in its shortest decimal form (-0, 1.0, 1e3) or past 15 digits, a lone UTF-16 surrogate
 * escaped in a string (JS writes U+FFFD for it). Strings are decoded as JSON.parse decodes them, into UTF-8; their
 * raw bytes are the message's (valid UTF-8: the receiver decoded it with a fatal decoder before).
 *
 * Returns how many items the entries array holds, or -1 when the message is not read here at all (no such array, a
 * top-level key with an escape in it or `entries` twice, nesting past 64 levels): the caller hashes everything in JS.
 * Every read is bounded by the message's length, whatever it holds.
 */
#define MAX_FIELDS 32
#define MAX_DEPTH 64

typedef struct { const uint8_t *p, *end; } cursor;
typedef struct { const uint8_t *name; size_t name_length; bool optional; } field;
typedef struct { int kind; const uint8_t *start, *end; bool escaped; } value; /* kind: 0 absent, 's' string, 'i' integer, 'n' null, 'x' other */

static void skip_space (cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

/* Bytes that end a string's plain run: the quote, the backslash and the control bytes. */
static uint8_t stops[256];

static void init_stops (void) {
  for (int b = 0; b < 0x20; b++) stops[b] = 1;
  stops['"'] = 1;
  stops['\\'] = 1;
}

/*
 * Where the plain run from p ends (the first quote, backslash or control byte, or end): most strings are that run
 * whole. 16 bytes at a time with SSE2 where the compiler has it (every x86-64), else a byte at a time.
 */
static const uint8_t *plain_run (const uint8_t *p, const uint8_t *end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), control = _mm_set1_epi8(0x1f);
  while (end - p >= 16) {
    __m128i bytes = _mm_loadu_si128((const __m128i *)p);
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)),
      _mm_cmpeq_epi8(_mm_max_epu8(bytes, control), control));
    int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return p + __builtin_ctz((unsigned)mask);
    p += 16;
  }
#endif
  while (p < end && !stops[*p]) p++;
  return p;
}

/* A string from its opening quote: its content is [*start, *end); *escaped when it holds a backslash. */
static bool read_string (cursor *c, const uint8_t **start, const uint8_t **end, bool *escaped) {
  if (c->p >= c->end || *c->p != '"') return false;
  *start = ++c->p;
  *escaped = false;
  for (;;) {
    c->p = plain_run(c->p, c->end);
    if (c->p >= c->end || *c->p < 0x20) return false;
    if (*c->p == '"') {
      *end = c->p++;
      return true;
    }
    /* A backslash and the byte it escapes (a \u escape's hex digits are plain bytes). */
    if (c->end - c->p < 2) return false;
    *escaped = true;
    c->p += 2;
  }
}

/*
 * After a member or an item: 1 when a comma follows (skipped, and the space after it), 0 when `close` does
 * (skipped), -1 for anything else.
 */
static int after_member (cursor *c, uint8_t close) {
  skip_space(c);
  if (c->p >= c->end) return -1;
  if (*c->p == ',') {
    c->p++;
    skip_space(c);
    return 1;
  }
  if (*c->p != close) return -1;
  c->p++;
  return 0;
}

/* Past a container's opening byte; true when it closes at once (`close` skipped too): {} or []. */
static bool opens_empty (cursor *c, uint8_t close) {
  c->p++;
  skip_space(c);
  if (c->p < c->end && *c->p == close) {
    c->p++;
    return true;
  }
  return false;
}

static bool skip_value (cursor *c, int depth);

static bool skip_container (cursor *c, int depth, uint8_t close, bool keyed) {
  if (depth > MAX_DEPTH) return false;
  if (opens_empty(c, close)) return true;
  for (;;) {
    if (keyed) {
      const uint8_t *s, *e;
      bool escaped;
      if (!read_string(c, &s, &e, &escaped)) return false;
      skip_space(c);
      if (c->p >= c->end || *c->p != ':') return false;
      c->p++;
    }
    if (!skip_value(c, depth + 1)) return false;
    int more = after_member(c, close);
    if (more <= 0) return more == 0;
  }
}

/* Number, literal, string or container, from its first byte (space skipped before). */
static bool skip_value (cursor *c, int depth) {
  skip_space(c);
  if (c->p >= c->end) return false;
  uint8_t b = *c->p;
  if (b == '{') return skip_container(c, depth, '}', true);
  if (b == '[') return skip_container(c, depth, ']', false);
  if (b == '"') {
    const uint8_t *s, *e;
    bool escaped;
    return read_string(c, &s, &e, &escaped);
  }
  const uint8_t *from = c->p;
  while (c->p < c->end && ((*c->p >= '0' && *c->p <= '9') || *c->p == '-' || *c->p == '+' || *c->p == '.' ||
         *c->p == 'e' || *c->p == 'E' || (*c->p >= 'a' && *c->p <= 'z'))) c->p++;
  return c->p > from;
}

/* The value at the cursor, kept as rustory's canonical bytes can take it (see value.kind), and skipped. */
static bool read_value (cursor *c, value *v) {
  skip_space(c);
  if (c->p >= c->end) return false;
  uint8_t b = *c->p;
  if (b == '"') {
    v->kind = 's';
    return read_string(c, &v->start, &v->end, &v->escaped);
  }
  if (b == '-' || (b >= '0' && b <= '9')) {
    const uint8_t *from = c->p;
    if (!skip_value(c, 0)) return false;
    const uint8_t *digits = *from == '-' ? from + 1 : from;
    size_t n = (size_t)(c->p - digits);
    bool plain = n >= 1 && n <= 15 && !(n > 1 && *digits == '0') && !(*from == '-' && n == 1 && *digits == '0');
    for (const uint8_t *q = digits; plain && q < c->p; q++) plain = *q >= '0' && *q <= '9';
    v->kind = plain ? 'i' : 'x';
    v->start = from;
    v->end = c->p;
    return true;
  }
  if (c->end - c->p >= 4 && memcmp(c->p, "null", 4) == 0) {
    v->kind = 'n';
    c->p += 4;
    return true;
  }
  v->kind = 'x';
  return skip_value(c, 0);
}

static int hex_digit (uint8_t b) {
  if (b >= '0' && b <= '9') return b - '0';
  if (b >= 'a' && b <= 'f') return b - 'a' + 10;
  if (b >= 'A' && b <= 'F') return b - 'A' + 10;
  return -1;
}

static long hex4 (const uint8_t *p, const uint8_t *end) {
  if (end - p < 4) return -1;
  long v = 0;
  for (int i = 0; i < 4; i++) {
    int d = hex_digit(p[i]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/* A string's content with its escapes decoded as JSON.parse does, as UTF-8, into out; its length, or -1 for a lone surrogate. */
static long decode_string (const uint8_t *p, const uint8_t *end, uint8_t *out) {
  uint8_t *o = out;
  while (p < end) {
    if (*p != '\\') {
      /* Up to the next backslash in one copy: within a string's content only a backslash ends the plain run. */
      const uint8_t *run = plain_run(p, end);
      if (run == p) run = p + 1;
      memcpy(o, p, (size_t)(run - p));
      o += run - p;
      p = run;
      continue;
    }
    if (end - p < 2) return -1;
    uint8_t e = p[1];
    p += 2;
    switch (e) {
      case '"': *o++ = '"'; break;
      case '\\': *o++ = '\\'; break;
      case '/': *o++ = '/'; break;
      case 'b': *o++ = 0x08; break;
      case 'f': *o++ = 0x0c; break;
      case 'n': *o++ = 0x0a; break;
      case 'r': *o++ = 0x0d; break;
      case 't': *o++ = 0x09; break;
      case 'u': {
        long u = hex4(p, end);
        if (u < 0) return -1;
        p += 4;
        if (u >= 0xdc00 && u <= 0xdfff) return -1;
        if (u >= 0xd800 && u <= 0xdbff) {
          if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return -1;
          long low = hex4(p + 2, end);
          if (low < 0xdc00 || low > 0xdfff) return -1;
          p += 6;
          u = 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00);
        }
        if (u < 0x80) {
          *o++ = (uint8_t)u;
        } else if (u < 0x800) {
          *o++ = (uint8_t)(0xc0 | (u >> 6));
          *o++ = (uint8_t)(0x80 | (u & 0x3f));
        } else if (u < 0x10000) {
          *o++ = (uint8_t)(0xe0 | (u >> 12));
          *o++ = (uint8_t)(0x80 | ((u >> 6) & 0x3f));
          *o++ = (uint8_t)(0x80 | (u & 0x3f));
        } else {
          *o++ = (uint8_t)(0xf0 | (u >> 18));
          *o++ = (uint8_t)(0x80 | ((u >> 12) & 0x3f));
          *o++ = (uint8_t)(0x80 | ((u >> 6) & 0x3f));
          *o++ = (uint8_t)(0x80 | (u & 0x3f));
        }
        break;
      }
      default: return -1;
    }
  }
  return (long)(o - out);
}

/* Where an entry's canonical bytes are written: grown to the largest entry met, never to the whole message. */
typedef struct { uint8_t *bytes; size_t size; } scratch_space;

typedef struct {
  const uint8_t *tag;
  size_t tag_length;
  size_t heads;
  size_t longest_tail;
  field fields[MAX_FIELDS];
  size_t count;
  const uint8_t *tails;
  size_t tails_length;
  const uint32_t *tail_ends;
  size_t tail_count;
} layout;

/*
 * One entry object at the cursor: read (and skipped) whatever it holds; when `tail` >= 0 and it is in the plain
 * form, its canonical bytes are written to scratch and hashed into digest. Returns 1 hashed, 2 left to JS, 0 not
 * asked, -1 malformed.
 */
static int hash_entry (cursor *c, const layout *l, long tail, scratch_space *scratch, uint8_t *digest) {
  const uint8_t *opening = c->p;
  value values[MAX_FIELDS];
  memset(values, 0, l->count * sizeof(value));
  bool plain = true;
  size_t next = 0;
  if (!opens_empty(c, '}')) {
    for (;;) {
      const uint8_t *ks, *ke;
      bool escaped;
      if (!read_string(c, &ks, &ke, &escaped)) return -1;
      skip_space(c);
      if (c->p >= c->end || *c->p != ':') return -1;
      c->p++;
      size_t f = l->count;
      if (escaped) {
        plain = false;
      } else {
        /* Fields mostly come in the layout's order: the one after the last found is tried first. */
        size_t length = (size_t)(ke - ks);
        if (next < l->count && l->fields[next].name_length == length && memcmp(l->fields[next].name, ks, length) == 0) {
          f = next;
        } else {
          for (f = 0; f < l->count; f++) {
            if (l->fields[f].name_length == length && memcmp(l->fields[f].name, ks, length) == 0) break;
          }
        }
        next = f + 1;
      }
      if (f < l->count) {
        /* A field named twice: the last is kept, as JSON.parse keeps it. */
        if (!read_value(c, &values[f])) return -1;
      } else if (!skip_value(c, 1)) {
        return -1;
      }
      int more = after_member(c, '}');
      if (more < 0) return -1;
      if (more == 0) break;
    }
  }
  if (tail < 0) return 0;
  if (!plain) return 2;
  /* The canonical bytes are never more than the entry's text (decoding only shrinks) plus tag, heads and tail. */
  size_t bound = (size_t)(c->p - opening) + l->tag_length + l->heads + l->longest_tail;
  if (bound > scratch->size) {
    uint8_t *grown = realloc(scratch->bytes, bound);
    if (grown == NULL) return -2;
    scratch->bytes = grown;
    scratch->size = bound;
  }
  uint8_t *o = scratch->bytes;
  memcpy(o, l->tag, l->tag_length);
  o += l->tag_length;
  for (size_t f = 0; f < l->count; f++) {
    const value *v = &values[f];
    if (v->kind == 0 || v->kind == 'n') {
      if (l->fields[f].optional) continue;
      return 2;
    }
    if (v->kind != 's' && v->kind != 'i') return 2;
    memcpy(o, l->fields[f].name, l->fields[f].name_length);
    o += l->fields[f].name_length;
    *o++ = 0;
    *o++ = (uint8_t)v->kind;
    long n;
    if (v->kind == 's' && v->escaped) {
      n = decode_string(v->start, v->end, o + 4);
      if (n < 0) return 2;
    } else {
      n = (long)(v->end - v->start);
      memcpy(o + 4, v->start, (size_t)n);
    }
    o[0] = (uint8_t)(n >> 24);
    o[1] = (uint8_t)(n >> 16);
    o[2] = (uint8_t)(n >> 8);
    o[3] = (uint8_t)n;
    o += 4 + n;
  }
  size_t from = tail == 0 ? 0 : l->tail_ends[tail - 1];
  memcpy(o, l->tails + from, l->tail_ends[tail] - from);
  o += l->tail_ends[tail] - from;
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, scratch->bytes, (size_t)(o - scratch->bytes));
  SHA256_Final(digest, &ctx);
  return 1;
}

/* The top-level object's `entries` array, each item hashed or skipped; its item count, or -1. */
static long hash_entries (cursor *c, const layout *l, const int32_t *which, size_t count, scratch_space *scratch, uint8_t *out, uint8_t *state) {
  skip_space(c);
  if (c->p >= c->end || *c->p != '{' || opens_empty(c, '}')) return -1;
  long items = -1;
  for (;;) {
    const uint8_t *ks, *ke;
    bool escaped;
    if (!read_string(c, &ks, &ke, &escaped) || escaped) return -1;
    skip_space(c);
    if (c->p >= c->end || *c->p != ':') return -1;
    c->p++;
    skip_space(c);
    if (ke - ks == 7 && memcmp(ks, "entries", 7) == 0) {
      if (items >= 0 || c->p >= c->end || *c->p != '[') return -1;
      items = 0;
      if (!opens_empty(c, ']')) {
        for (;;) {
          skip_space(c);
          if (c->p >= c->end) return -1;
          if (*c->p == '{') {
            long tail = (size_t)items < count ? which[items] : -1;
            if (tail >= (long)l->tail_count) tail = -1;
            int done = hash_entry(c, l, tail, scratch, out + 32 * (size_t)items);
            if (done < 0) return done == -2 ? -2 : -1;
            if ((size_t)items < count) state[items] = (uint8_t)done;
          } else if (!skip_value(c, 1)) {
            return -1;
          }
          items++;
          int more = after_member(c, ']');
          if (more < 0) return -1;
          if (more == 0) break;
        }
      }
    } else if (!skip_value(c, 1)) {
      return -1;
    }
    int more = after_member(c, '}');
    if (more < 0) return -1;
    if (more == 0) return items;
  }
}

static napi_value sha256_entries_json (napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 9) return fail(env, "sha256EntriesJson(json, tag, names, optional, tails, tailEnds, which, out, state): nine arguments");
  void *json, *tag, *names, *optional, *tails, *tail_ends, *which, *out, *state;
  size_t json_length, tag_length, names_length, optional_length, tails_length, tail_count, count, out_length, state_length;
  if (!bytes_of(env, argv[0], napi_uint8_array, &json, &json_length) ||
      !bytes_of(env, argv[1], napi_uint8_array, &tag, &tag_length) ||
      !bytes_of(env, argv[2], napi_uint8_array, &names, &names_length) ||
      !bytes_of(env, argv[3], napi_uint8_array, &optional, &optional_length) ||
      !bytes_of(env, argv[4], napi_uint8_array, &tails, &tails_length) ||
      !bytes_of(env, argv[5], napi_uint32_array, &tail_ends, &tail_count) ||
      !bytes_of(env, argv[6], napi_int32_array, &which, &count) ||
      !bytes_of(env, argv[7], napi_uint8_array, &out, &out_length) ||
      !bytes_of(env, argv[8], napi_uint8_array, &state, &state_length)) return fail(env, "sha256EntriesJson: json, tag, names, optional, tails, out and state must be Uint8Arrays, tailEnds a Uint32Array, which an Int32Array");
  if (out_length < count * SHA256_DIGEST_LENGTH || state_length < count) return fail(env, "sha256EntriesJson: out or state is shorter than which");
  layout l = { .tag = tag, .tag_length = tag_length, .count = 0, .tails = tails, .tails_length = tails_length, .tail_ends = tail_ends, .tail_count = tail_count };
  size_t heads = 0;
  for (size_t at = 0; at < names_length;) {
    const uint8_t *name = (const uint8_t *)names + at;
    size_t n = 0;
    while (at + n < names_length && name[n] != 0) n++;
    if (at + n >= names_length || n == 0 || l.count == MAX_FIELDS || l.count >= optional_length) return fail(env, "sha256EntriesJson: names must be at most 32 names, each followed by a NUL, with an optional byte each");
    l.fields[l.count] = (field){ .name = name, .name_length = n, .optional = ((const uint8_t *)optional)[l.count] != 0 };
    l.count++;
    heads += n + 6;
    at += n + 1;
  }
  size_t previous = 0, longest = 0;
  for (size_t t = 0; t < tail_count; t++) {
    uint32_t end = ((const uint32_t *)tail_ends)[t];
    if (end < previous || end > tails_length) return fail(env, "sha256EntriesJson: tailEnds must ascend within tails");
    if (end - previous > longest) longest = end - previous;
    previous = end;
  }
  l.heads = heads;
  l.longest_tail = longest;
  scratch_space scratch = { .bytes = NULL, .size = 0 };
  memset(state, 0, count);
  cursor c = { .p = json, .end = (const uint8_t *)json + json_length };
  long items = hash_entries(&c, &l, which, count, &scratch, out, state);
  free(scratch.bytes);
  if (items == -2) return fail(env, "sha256EntriesJson: out of memory");
  napi_value result;
  napi_create_int64(env, items, &result);
  return result;
}

NAPI_MODULE_INIT () {
  init_stops();
  napi_value fn;
  napi_create_function(env, "sha256Each", NAPI_AUTO_LENGTH, sha256_each, NULL, &fn);
  napi_set_named_property(env, exports, "sha256Each", fn);
  napi_create_function(env, "sha256EntriesJson", NAPI_AUTO_LENGTH, sha256_entries_json, NULL, &fn);
  napi_set_named_property(env, exports, "sha256EntriesJson", fn);
  return exports;
}
