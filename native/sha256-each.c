/*
 * rr_sha256: one function Node lacks. sha256Each(data, ends, out) hashes many short messages laid end to end in one
 * call: message i is data[ends[i-1] .. ends[i]) (message 0 starts at 0), its SHA-256 goes to out[32 i .. 32 i + 32).
 * node:crypto takes one call per message, about 1 µs each for the ~200-byte canonical entries a relayed 3.0.0 batch
 * carries, where the hashing itself (OpenSSL, with the CPU's SHA extensions) is a tenth of that. The hashing is
 * OpenSSL's own (SHA256_Init/Update/Final), the one Node links in and exports to addons: nothing of SHA-256 is
 * written here.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <node_api.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

NAPI_MODULE_INIT () {
  napi_value fn;
  napi_create_function(env, "sha256Each", NAPI_AUTO_LENGTH, sha256_each, NULL, &fn);
  napi_set_named_property(env, exports, "sha256Each", fn);
  return exports;
}
