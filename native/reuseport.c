/*
 * rr_reuseport: one function Node lacks. bindReusable(family, host, port, exclusive) makes a TCP socket with SO_REUSEADDR and
 * SO_REUSEPORT set and binds it, and returns its fd; Node then listens on it (server.listen({ fd })) or connects
 * from it (new net.Socket({ fd }).connect(...)). Node 20 cannot set SO_REUSEPORT at all, Node 22.12+ only on a
 * listener, never on a client socket; without it on both sockets a dial from the listen port fails with EADDRINUSE
 * (LIBP2P.md), so a NAT never maps the hole punch to the port the peer was told about.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static napi_value throw_errno (napi_env env, const char *what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_value code, msg, error;
  const char *name = err == EADDRINUSE ? "EADDRINUSE" : err == EADDRNOTAVAIL ? "EADDRNOTAVAIL" : err == EACCES ? "EACCES"
    : err == EINVAL ? "EINVAL" : err == EAFNOSUPPORT ? "EAFNOSUPPORT" : err == EMFILE ? "EMFILE" : err == ENFILE ? "ENFILE" : "EIO";
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_value errno_value;
  napi_create_int32(env, -err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_throw(env, error);
  return NULL;
}

/*
 * Binds a plain socket (SO_REUSEADDR only, like libuv's) to the address: fails with EADDRINUSE where anything listens
 * there, whoever owns it. Returns the port bound (the kernel's choice for port 0), or -errno.
 */
static int probe_port (int domain, const struct sockaddr *addr, socklen_t addr_len) {
  int fd = socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(fd, addr, addr_len) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  struct sockaddr_storage bound;
  socklen_t bound_len = sizeof bound;
  int port = -EINVAL;
  if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) == 0) {
    port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port : ((struct sockaddr_in6 *)&bound)->sin6_port);
  }
  close(fd);
  return port;
}

/*
 * bindReusable(family, host, port, exclusive): with `exclusive` (a listener), the port must be free first: SO_REUSEPORT
 * would otherwise let a second process of the same user share a port another one listens on (the kernel would split
 * connections between them), and port 0 would not be guaranteed unused. The dial socket is not exclusive: it shares
 * the listen port on purpose.
 */
static napi_value bind_reusable (napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) {
    napi_throw_type_error(env, NULL, "bindReusable(family, host, port, exclusive)");
    return NULL;
  }
  bool exclusive = false;
  napi_get_value_bool(env, argv[3], &exclusive);
  int32_t family, port;
  char host[64];
  size_t host_len;
  if (napi_get_value_int32(env, argv[0], &family) != napi_ok || (family != 4 && family != 6) ||
      napi_get_value_string_utf8(env, argv[1], host, sizeof host, &host_len) != napi_ok ||
      napi_get_value_int32(env, argv[2], &port) != napi_ok || port < 0 || port > 65535) {
    napi_throw_type_error(env, NULL, "bindReusable(family: 4 | 6, host: string, port: 0-65535)");
    return NULL;
  }
  struct sockaddr_storage addr;
  socklen_t addr_len;
  memset(&addr, 0, sizeof addr);
  if (family == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)&addr;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return throw_errno(env, "bindReusable: not an IPv4 address", EINVAL);
    addr_len = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&addr;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) return throw_errno(env, "bindReusable: not an IPv6 address", EINVAL);
    addr_len = sizeof *a;
  }
  if (exclusive) {
    int probed = probe_port(family == 4 ? AF_INET : AF_INET6, (struct sockaddr *)&addr, addr_len);
    if (probed < 0) {
      char what[128];
      snprintf(what, sizeof what, "bind %s%s%s:%d", family == 6 ? "[" : "", host, family == 6 ? "]" : "", port);
      return throw_errno(env, what, -probed);
    }
    if (family == 4) ((struct sockaddr_in *)&addr)->sin_port = htons((uint16_t)probed);
    else ((struct sockaddr_in6 *)&addr)->sin6_port = htons((uint16_t)probed);
    port = probed;
  }
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "setsockopt(SO_REUSEADDR, SO_REUSEPORT)", err);
  }
  if (bind(fd, (struct sockaddr *)&addr, addr_len) != 0) {
    int err = errno;
    close(fd);
    char what[128];
    snprintf(what, sizeof what, "bind %s%s%s:%d", family == 6 ? "[" : "", host, family == 6 ? "]" : "", port);
    return throw_errno(env, what, err);
  }
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

NAPI_MODULE_INIT () {
  napi_value fn;
  napi_create_function(env, "bindReusable", NAPI_AUTO_LENGTH, bind_reusable, NULL, &fn);
  napi_set_named_property(env, exports, "bindReusable", fn);
  return exports;
}
