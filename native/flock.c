/*
 * tsbuild's native addon: the one libc call on every command's start-up path (flock(2), for the
 * store's locks). koffi covers the other calls Node lacks, but loading it costs ~10 ms per process,
 * which is a tenth of a cached build; this addon loads in well under a millisecond. core/sys.ts falls
 * back to koffi when the addon is not built (no C compiler at install time).
 *
 * flock(fd, operation) returns 0, or the negated errno.
 */
#include <errno.h>
#include <sys/file.h>
#include <node_api.h>

static napi_value call_flock(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd = -1;
  int32_t operation = 0;
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int32(env, argv[1], &operation) != napi_ok) {
    napi_throw_type_error(env, NULL, "flock(fd: number, operation: number)");
    return NULL;
  }
  int rc = flock(fd, operation);
  napi_create_int32(env, rc == 0 ? 0 : -errno, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "flock", NAPI_AUTO_LENGTH, call_flock, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "flock", fn) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
