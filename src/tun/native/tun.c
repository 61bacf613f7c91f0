// tuntcp_tun: the small native half of the TUN device, as a Node-API addon in C.
//
// It does only what JavaScript cannot: the TUNSETIFF ioctl, the device MTU ioctls,
// watching the fd with libuv, and read()/write() on the fd. Everything else (names,
// messages, counters, handing packets to the stack) lives in tun-device.ts.
//
//   open(name, mtu?, offload?, multiQueue?, attachOnly?)
//                                         -> { fd, name, mtu, created, offload }
//   setQueue(fd, enabled)                 a multi-queue device: enable or disable this queue
//   startReading(fd, buf, lens, callback) -> handle   callback(count, error?)
//   stopReading(handle)                   (idempotent)
//   write(fd, packet, header?)            -> true, or false when the queue is full
//   close(fd)
//
// Reading: when the fd is readable we read() up to MAX_BATCH packets, one after the
// other, into the caller's ArrayBuffer `buf` and store their lengths in `lens`
// (an Int32Array), then make ONE call into JavaScript with the count. The buffer
// is reused for the next batch, so JavaScript must copy what it keeps.
//
// Offload (optional): with IFF_VNET_HDR every packet read or written starts with a
// 10-byte struct virtio_net_hdr, and TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) lets the
// kernel hand us TCP segments larger than the MTU with their checksum left partial,
// and take ours the same way (it splits them at gso_size). tun-device.ts reads and
// writes the header; here we only switch it on, and report whether that worked.
//
// Multi-queue (optional): with IFF_MULTI_QUEUE every open() + TUNSETIFF of the same name
// adds one queue, a file descriptor of its own (Documentation/networking/tuntap.rst, 3.3).
// The kernel picks the queue of each packet it sends us by flow: a flow goes to the queue
// that last wrote a packet of it, or else by a hash of its addresses and ports, so one
// thread per queue sees every packet of the connections it owns. Flags such as
// IFF_VNET_HDR belong to the device, not the queue: a queue added to an existing device
// takes the device's, and reports them (TUNGETIFF). TUNSETQUEUE with IFF_DETACH_QUEUE
// keeps a file attached to the device (so the device lives on) without receiving packets.
//
// Errors thrown to JavaScript are Error objects with `code` (the errno name),
// `errno` and `syscall`, like Node's own system errors.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

// The largest IPv4 packet, plus a virtio_net_hdr. Each read() is given this much room
// so a packet is never truncated (with IFF_NO_PI the kernel would cut it silently),
// whatever the MTU.
#define VNET_HDR_LEN 10
#define SLOT (65535 + VNET_HDR_LEN)
// At most this many packets per batch, so one busy device cannot starve the loop;
// epoll is level-triggered, so what is left is read on the next loop turn.
#define MAX_BATCH 64

// ---------------------------------------------------------------------------
// Errors

static const char *errno_name(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ENOTTY: return "ENOTTY";
    case E2BIG: return "E2BIG";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EBADFD: return "EBADFD";
    case EMSGSIZE: return "EMSGSIZE";
    case ENOBUFS: return "ENOBUFS";
    case ENETDOWN: return "ENETDOWN";
    default: return "EUNKNOWN";
  }
}

// Build an Error like Node's system errors: message "syscall what: strerror".
static napi_value make_errno_error(napi_env env, int err, const char *syscall, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s %s: %s", syscall, what, strerror(err));
  napi_value code, message, error, num, sys;
  napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, err, &num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, error, "errno", num);
  napi_set_named_property(env, error, "syscall", sys);
  return error;
}

static void throw_errno(napi_env env, int err, const char *syscall, const char *what) {
  napi_throw(env, make_errno_error(env, err, syscall, what));
}

// Return NULL from the calling function if a Node-API call failed (an exception
// is then pending, or we raise a generic one).
#define CHECK(call)                                                     \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      bool pending = false;                                             \
      napi_is_exception_pending(env, &pending);                         \
      if (!pending) napi_throw_error(env, "EINVAL", "tuntcp_tun: " #call " failed"); \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

static napi_value get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, size_t *argc) {
  *argc = want;
  CHECK(napi_get_cb_info(env, info, argc, argv, NULL, NULL));
  return argv[0];
}

static int32_t get_fd(napi_env env, napi_value v) {
  int32_t fd = -1;
  if (napi_get_value_int32(env, v, &fd) != napi_ok) return -1;
  return fd;
}

// ---------------------------------------------------------------------------
// open(name, mtu?, offload?, multiQueue?, attachOnly?) -> { fd, name, mtu, created, offload }

// Interface ioctls go through an ordinary socket. They act in the calling thread's
// network namespace (unlike /sys/class/net, which shows the namespace sysfs was
// mounted in), so they are what we trust.
static void ifreq_for(struct ifreq *ifr, const char *name) {
  memset(ifr, 0, sizeof *ifr);
  memcpy(ifr->ifr_name, name, strnlen(name, IFNAMSIZ - 1));  // stays NUL-terminated
}

// Does an interface called `name` exist? 1 yes, 0 no, -errno if we cannot tell.
static int device_exists(int sock, const char *name) {
  struct ifreq ifr;
  ifreq_for(&ifr, name);
  if (ioctl(sock, SIOCGIFINDEX, &ifr) == 0) return 1;
  return errno == ENODEV ? 0 : -errno;
}

// Set (if mtu > 0) and then read the interface MTU. Returns 0 or an errno.
static int device_mtu(int sock, const char *name, int mtu, int *out) {
  struct ifreq ifr;
  ifreq_for(&ifr, name);
  if (mtu > 0) {
    ifr.ifr_mtu = mtu;
    if (ioctl(sock, SIOCSIFMTU, &ifr) < 0) return errno;
  }
  if (ioctl(sock, SIOCGIFMTU, &ifr) < 0) return errno;
  *out = ifr.ifr_mtu;
  return 0;
}

/** IFF_VNET_HDR was set on fd: size the header and ask for checksum, TSO4 and TSO6 offload. 0 or errno. */
static int enable_offload(int fd) {
  int size = VNET_HDR_LEN;
  if (ioctl(fd, TUNSETVNETHDRSZ, &size) < 0) return errno;
  if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) return errno;
  return 0;
}

/** argv[i] as a boolean: false when absent or not a boolean. NULL after a failure. */
static napi_value get_flag(napi_env env, napi_value *argv, size_t argc, size_t i, bool *out) {
  *out = false;
  napi_valuetype t = napi_undefined;
  if (argc > i) CHECK(napi_typeof(env, argv[i], &t));
  if (t == napi_boolean) CHECK(napi_get_value_bool(env, argv[i], out));
  return argv[0];
}

/** The flags the device has now (TUNGETIFF), or -errno. */
static int device_flags(int fd) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (ioctl(fd, TUNGETIFF, &ifr) < 0) return -errno;
  return ifr.ifr_flags & 0xffff;
}

static napi_value tun_open(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  size_t argc;
  if (get_args(env, info, 5, argv, &argc) == NULL) return NULL;

  char name[IFNAMSIZ + 1];  // one spare byte so we can tell "too long" from "fits"
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "open(name, mtu?): name must be a string");
    return NULL;
  }
  if (len == 0 || len >= IFNAMSIZ) {
    throw_errno(env, EINVAL, "open", "(interface names are 1 to 15 bytes)");
    return NULL;
  }
  int32_t mtu = 0;
  if (argc >= 2) {
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[1], &t));
    if (t != napi_undefined && t != napi_null) CHECK(napi_get_value_int32(env, argv[1], &mtu));
  }
  bool offload, multi_queue, attach_only;
  if (get_flag(env, argv, argc, 2, &offload) == NULL) return NULL;
  if (get_flag(env, argv, argc, 3, &multi_queue) == NULL) return NULL;
  if (get_flag(env, argv, argc, 4, &attach_only) == NULL) return NULL;

  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) {
    throw_errno(env, errno, "socket", "(for interface ioctls)");
    return NULL;
  }
  int existed = device_exists(sock, name);
  if (existed < 0) {
    close(sock);
    throw_errno(env, -existed, "ioctl(SIOCGIFINDEX)", name);
    return NULL;
  }
  if (!existed && attach_only) {
    close(sock);
    throw_errno(env, ENODEV, "attach", name);  // a queue for a device that is not there
    return NULL;
  }

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    close(sock);
    throw_errno(env, err, "open", "/dev/net/tun");
    return NULL;
  }
  // IFF_TUN: IP packets, no Ethernet header. IFF_NO_PI: no 4-byte packet info prefix.
  // An existing TUN device of that name is attached to; otherwise a new one is made,
  // and since we never set TUNSETPERSIST it goes away when this fd is closed (with
  // IFF_MULTI_QUEUE: when the last of its queues is closed).
  const short base = IFF_TUN | IFF_NO_PI | (multi_queue ? IFF_MULTI_QUEUE : 0);
  // One more queue of an existing multi-queue device takes the device's flags as they are.
  const bool add_queue = multi_queue && existed;
  struct ifreq ifr;
  ifreq_for(&ifr, name);
  ifr.ifr_flags = base | (offload ? IFF_VNET_HDR : 0);
  int setiff = ioctl(fd, TUNSETIFF, &ifr);
  if (setiff == 0 && add_queue) {
    int flags = device_flags(fd);
    if (flags < 0) {
      close(fd);
      close(sock);
      throw_errno(env, -flags, "ioctl(TUNGETIFF)", name);
      return NULL;
    }
    offload = (flags & IFF_VNET_HDR) != 0;
  } else if (setiff == 0 && offload && enable_offload(fd) != 0) {
    // No offload here: start again without the header (a device we made goes and comes back).
    offload = false;
    close(fd);
    fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      close(sock);
      throw_errno(env, err, "open", "/dev/net/tun");
      return NULL;
    }
    ifreq_for(&ifr, name);
    ifr.ifr_flags = base;
    setiff = ioctl(fd, TUNSETIFF, &ifr);
  } else if (setiff < 0 && offload && errno == EINVAL) {
    offload = false;  // a kernel without IFF_VNET_HDR for TUN: plain packets
    ifr.ifr_flags = base;
    setiff = ioctl(fd, TUNSETIFF, &ifr);
  }
  if (setiff < 0) {
    int err = errno;
    close(fd);
    close(sock);
    // Say whether the name was taken: EINVAL then means "not a TUN device".
    napi_value error = make_errno_error(env, err, "ioctl(TUNSETIFF)", name), flag;
    napi_get_boolean(env, existed, &flag);
    napi_set_named_property(env, error, "existed", flag);
    napi_throw(env, error);
    return NULL;
  }
  char actual[IFNAMSIZ];
  memcpy(actual, ifr.ifr_name, IFNAMSIZ);
  actual[IFNAMSIZ - 1] = '\0';

  int in_force = 0;
  int err = device_mtu(sock, actual, mtu, &in_force);
  close(sock);
  if (err) {
    close(fd);  // a device we just made goes away with it
    throw_errno(env, err, mtu > 0 ? "ioctl(SIOCSIFMTU)" : "ioctl(SIOCGIFMTU)", actual);
    return NULL;
  }

  napi_value result, v;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_int32(env, fd, &v));
  CHECK(napi_set_named_property(env, result, "fd", v));
  CHECK(napi_create_string_utf8(env, actual, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, result, "name", v));
  CHECK(napi_create_int32(env, in_force, &v));
  CHECK(napi_set_named_property(env, result, "mtu", v));
  CHECK(napi_get_boolean(env, !existed, &v));
  CHECK(napi_set_named_property(env, result, "created", v));
  CHECK(napi_get_boolean(env, offload, &v));
  CHECK(napi_set_named_property(env, result, "offload", v));
  return result;
}

// ---------------------------------------------------------------------------
// Reading: one poller per startReading() call.

typedef struct {
  uv_poll_t poll;              // must stay first: we cast the handle back to the poller
  napi_env env;
  int fd;
  napi_ref self;               // our JS handle object: kept alive while we read
  napi_ref callback;           // the JS function called once per batch
  napi_ref buf_ref, lens_ref;  // keep the caller's buffers alive while we write into them
  napi_async_context async;    // so async_hooks/AsyncLocalStorage see one resource
  uint8_t *buf;
  size_t cap;
  int32_t *lens;
  size_t max;                  // packets per batch: min(MAX_BATCH, lens.length)
  bool stopped;                // poll stopped and uv_close requested
  bool released;               // JS references dropped
  bool closed;                 // libuv has finished closing the handle
  bool finalized;              // the JS handle object is gone
} poller_t;

// The poller is freed when both libuv and the JS garbage collector are done with it.
static void free_if_done(poller_t *p) {
  if (p->closed && p->finalized) free(p);
}

static void on_closed(uv_handle_t *h) {
  poller_t *p = (poller_t *)h;
  p->closed = true;
  free_if_done(p);
}

static void env_cleanup(void *arg);

// Stop watching the fd. After this the fd may be closed (uv_poll_stop takes it out
// of epoll at once). Safe to call more than once.
static void poller_halt(poller_t *p) {
  if (p->stopped) return;
  p->stopped = true;
  uv_poll_stop(&p->poll);
  uv_close((uv_handle_t *)&p->poll, on_closed);
}

// Drop our references, which lets the handle object be collected (then on_finalize).
static void poller_release(poller_t *p) {
  if (p->released) return;
  p->released = true;
  napi_env env = p->env;
  napi_remove_env_cleanup_hook(env, env_cleanup, p);
  napi_async_destroy(env, p->async);
  napi_delete_reference(env, p->callback);
  napi_delete_reference(env, p->buf_ref);
  napi_delete_reference(env, p->lens_ref);
  napi_delete_reference(env, p->self);  // last: may make the handle collectable
}

// The environment (main thread or worker) is shutting down: stop, touch no JS.
static void env_cleanup(void *arg) {
  poller_t *p = arg;
  poller_halt(p);
  p->released = true;
}

static void on_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  poller_t *p = data;
  poller_halt(p);  // normally done already; not at environment teardown
  p->finalized = true;
  free_if_done(p);
}

// Call callback(count, error) as a proper top-level callback: napi_make_callback
// runs the microtask queue and process.nextTick callbacks when it returns.
static void deliver(poller_t *p, int count, int err) {
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, argv[2], result;
  napi_get_reference_value(env, p->callback, &cb);
  napi_get_reference_value(env, p->self, &recv);
  napi_create_int32(env, count, &argv[0]);
  if (err) argv[1] = make_errno_error(env, err, "read", "TUN device");
  else napi_get_undefined(env, &argv[1]);
  if (napi_make_callback(env, p->async, recv, cb, 2, argv, &result) != napi_ok) {
    // The callback threw: report it like any uncaught exception.
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  poller_t *p = (poller_t *)handle;
  if (p->stopped) return;
  int err = 0;
  if (status < 0) {
    err = -status;  // libuv reports errors as negative errno values on Unix
  }
  int n = 0;
  size_t off = 0;
  while (!err && (size_t)n < p->max && p->cap - off >= SLOT) {
    ssize_t r = read(p->fd, p->buf + off, SLOT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
      break;
    }
    if (r == 0) break;  // nothing more (not expected from TUN)
    p->lens[n++] = (int32_t)r;
    off += (size_t)r;
  }
  if (err) poller_halt(p);  // the device is unusable (e.g. deleted): stop; JS hears why
  if (n > 0 || err) deliver(p, n, err);
  if (err) poller_release(p);
}

static napi_value tun_start_reading(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  size_t argc;
  if (get_args(env, info, 4, argv, &argc) == NULL) return NULL;
  if (argc < 4) {
    napi_throw_type_error(env, "EINVAL", "startReading(fd, buffer, lengths, callback): 4 arguments");
    return NULL;
  }
  int fd = get_fd(env, argv[0]);
  bool is_ab = false, is_ta = false;
  napi_valuetype cbtype;
  CHECK(napi_is_arraybuffer(env, argv[1], &is_ab));
  CHECK(napi_is_typedarray(env, argv[2], &is_ta));
  CHECK(napi_typeof(env, argv[3], &cbtype));
  if (fd < 0 || !is_ab || !is_ta || cbtype != napi_function) {
    napi_throw_type_error(env, "EINVAL", "startReading(fd, ArrayBuffer, Int32Array, function): bad argument");
    return NULL;
  }
  void *buf;
  size_t cap;
  CHECK(napi_get_arraybuffer_info(env, argv[1], &buf, &cap));
  napi_typedarray_type ltype;
  size_t nlens;
  void *lens;
  CHECK(napi_get_typedarray_info(env, argv[2], &ltype, &nlens, &lens, NULL, NULL));
  if (ltype != napi_int32_array || nlens == 0 || cap < SLOT) {
    napi_throw_range_error(env, "EINVAL", "startReading: need an Int32Array and a buffer of at least 65545 bytes (a packet and its virtio_net_hdr)");
    return NULL;
  }

  poller_t *p = calloc(1, sizeof *p);
  if (p == NULL) {
    throw_errno(env, ENOMEM, "startReading", "poller");
    return NULL;
  }
  p->env = env;
  p->fd = fd;
  p->buf = buf;
  p->cap = cap;
  p->lens = lens;
  p->max = nlens < MAX_BATCH ? nlens : MAX_BATCH;

  uv_loop_t *loop;
  int rc;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || (rc = uv_poll_init(loop, &p->poll, fd)) != 0) {
    free(p);
    throw_errno(env, EBADF, "uv_poll_init", "TUN fd");
    return NULL;
  }
  // From here on the handle is initialised: it must be released through uv_close.
  napi_value handle, resource_name;
  napi_create_object(env, &handle);
  napi_create_string_utf8(env, "tuntcp:tun", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, handle, resource_name, &p->async);
  napi_create_reference(env, handle, 1, &p->self);
  napi_create_reference(env, argv[3], 1, &p->callback);
  napi_create_reference(env, argv[1], 1, &p->buf_ref);
  napi_create_reference(env, argv[2], 1, &p->lens_ref);
  napi_add_env_cleanup_hook(env, env_cleanup, p);
  if (napi_wrap(env, handle, p, on_finalize, NULL, NULL) != napi_ok) {
    poller_halt(p);
    poller_release(p);
    p->finalized = true;  // no finalizer will run: on_closed frees it
    return NULL;
  }
  if ((rc = uv_poll_start(&p->poll, UV_READABLE, on_readable)) != 0) {
    poller_halt(p);
    poller_release(p);  // the finalizer frees it later
    throw_errno(env, -rc, "uv_poll_start", "TUN fd");
    return NULL;
  }
  return handle;
}

static napi_value tun_stop_reading(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc;
  if (get_args(env, info, 1, argv, &argc) == NULL) return NULL;
  void *p = NULL;
  if (argc < 1 || napi_unwrap(env, argv[0], &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, "EINVAL", "stopReading(handle): not a handle from startReading");
    return NULL;
  }
  poller_halt(p);
  poller_release(p);
  return NULL;
}

// ---------------------------------------------------------------------------
// write(fd, packet, header?) -> true | false (queue full: the packet is dropped)
// With a header (the virtio_net_hdr of an offloading device) both go in one writev().

/** The bytes of a Uint8Array argument, or false after throwing. */
static bool get_bytes(napi_env env, napi_value value, void **data, size_t *length) {
  bool is_ta = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, value, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, value, &type, length, data, NULL, NULL) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, "EINVAL", "write(fd, packet, header?): packet and header must be Uint8Arrays");
    return false;
  }
  return true;
}

static napi_value tun_write(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  size_t argc;
  if (get_args(env, info, 3, argv, &argc) == NULL) return NULL;
  int fd = argc >= 1 ? get_fd(env, argv[0]) : -1;
  if (fd < 0 || argc < 2) {
    napi_throw_type_error(env, "EINVAL", "write(fd, packet, header?): bad argument");
    return NULL;
  }
  struct iovec iov[2];
  int parts = 0;
  if (argc >= 3) {
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[2], &t));
    if (t != napi_undefined) {
      if (!get_bytes(env, argv[2], &iov[0].iov_base, &iov[0].iov_len)) return NULL;
      parts = 1;
    }
  }
  if (!get_bytes(env, argv[1], &iov[parts].iov_base, &iov[parts].iov_len)) return NULL;
  parts++;
  ssize_t r;
  do r = writev(fd, iov, parts);
  while (r < 0 && errno == EINTR);
  bool ok = true;
  if (r < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
      throw_errno(env, errno, "write", "TUN device");
      return NULL;
    }
    ok = false;  // the device queue is full: drop, like a real link would
  }
  napi_value result;
  CHECK(napi_get_boolean(env, ok, &result));
  return result;
}

// setQueue(fd, enabled): TUNSETQUEUE. A disabled queue keeps the device alive but the
// kernel sends it no packets; enabling it puts it back among the queues flows hash to.
static napi_value tun_set_queue(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc;
  if (get_args(env, info, 2, argv, &argc) == NULL) return NULL;
  int fd = argc >= 1 ? get_fd(env, argv[0]) : -1;
  bool enabled = false;
  napi_valuetype t = napi_undefined;
  if (argc >= 2) CHECK(napi_typeof(env, argv[1], &t));
  if (fd < 0 || t != napi_boolean) {
    napi_throw_type_error(env, "EINVAL", "setQueue(fd, enabled): bad argument");
    return NULL;
  }
  CHECK(napi_get_value_bool(env, argv[1], &enabled));
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = enabled ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
  if (ioctl(fd, TUNSETQUEUE, &ifr) < 0) {
    throw_errno(env, errno, "ioctl(TUNSETQUEUE)", enabled ? "IFF_ATTACH_QUEUE" : "IFF_DETACH_QUEUE");
    return NULL;
  }
  return NULL;
}

// close(fd): stop reading first (stopReading), then close.
static napi_value tun_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc;
  if (get_args(env, info, 1, argv, &argc) == NULL) return NULL;
  int fd = argc >= 1 ? get_fd(env, argv[0]) : -1;
  if (fd < 0) {
    napi_throw_type_error(env, "EINVAL", "close(fd): bad fd");
    return NULL;
  }
  if (close(fd) < 0 && errno != EINTR) {
    throw_errno(env, errno, "close", "TUN device");
    return NULL;
  }
  return NULL;
}

// ---------------------------------------------------------------------------

NAPI_MODULE_INIT() {
  const napi_property_descriptor fns[] = {
    {"open", NULL, tun_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setQueue", NULL, tun_set_queue, NULL, NULL, NULL, napi_enumerable, NULL},
    {"startReading", NULL, tun_start_reading, NULL, NULL, NULL, napi_enumerable, NULL},
    {"stopReading", NULL, tun_stop_reading, NULL, NULL, NULL, napi_enumerable, NULL},
    {"write", NULL, tun_write, NULL, NULL, NULL, napi_enumerable, NULL},
    {"close", NULL, tun_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns) != napi_ok) return NULL;
  return exports;
}
