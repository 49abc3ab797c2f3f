/*
 * A stand-in for libcuda.so.1 on hosts without a GPU, for FakeCudaTest only: the entry points the
 * feeder binds, with cuda.h's signatures, over host memory ("device pointers" are host addresses).
 * Copies happen at once; an event becomes ready only after two cuEventQuery calls, so the feeder's
 * CUDA_ERROR_NOT_READY polling path runs. It counts calls so the test can check what was issued.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef uint64_t CUdeviceptr;
typedef struct { int pending; } fake_event;

static int initialised;
long fake_dtod_calls, fake_htod_calls, fake_event_not_ready, fake_allocs, fake_frees;
long fake_dtod_bytes, fake_htod_bytes;

CUresult cuInit(unsigned int flags) { (void) flags; initialised = 1; return 0; }
CUresult cuDeviceGetCount(int *count) { if (!initialised) return 3; *count = 1; return 0; }
CUresult cuDeviceGet(int *device, int ordinal) { if (ordinal != 0) return 101; *device = 0; return 0; }
CUresult cuDeviceGetName(char *name, int len, int dev) {
    (void) dev; strncpy(name, "fake CUDA device (host memory)", (size_t) len - 1); name[len - 1] = 0; return 0;
}
CUresult cuDeviceGetAttribute(int *value, int attribute, int dev) {
    (void) dev; *value = attribute == 124 ? 0 : 1; return 0;   /* no dma-buf export */
}
CUresult cuDevicePrimaryCtxRetain(void **ctx, int dev) { (void) dev; *ctx = (void *) 0x1; return 0; }
CUresult cuDevicePrimaryCtxRelease_v2(int dev) { (void) dev; return 0; }
CUresult cuCtxSetCurrent(void *ctx) { return ctx == (void *) 0x1 ? 0 : 201; }
CUresult cuStreamCreate(void **stream, unsigned int flags) { (void) flags; *stream = malloc(1); return 0; }
CUresult cuStreamDestroy_v2(void *stream) { free(stream); return 0; }
CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytes) {
    void *p = aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
    if (!p) return 2;
    fake_allocs++; *dptr = (CUdeviceptr) (uintptr_t) p; return 0;
}
CUresult cuMemFree_v2(CUdeviceptr dptr) { fake_frees++; free((void *) (uintptr_t) dptr); return 0; }
CUresult cuMemGetHandleForAddressRange(void *handle, CUdeviceptr dptr, size_t size, int type, unsigned long long flags) {
    (void) handle; (void) dptr; (void) size; (void) type; (void) flags; return 801; /* CUDA_ERROR_NOT_SUPPORTED */
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, void *stream) {
    (void) stream; memcpy((void *) (uintptr_t) dst, (const void *) (uintptr_t) src, n);
    fake_dtod_calls++; fake_dtod_bytes += (long) n; return 0;
}
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, void *stream) {
    (void) stream; memcpy((void *) (uintptr_t) dst, src, n);
    fake_htod_calls++; fake_htod_bytes += (long) n; return 0;
}
CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n) { memcpy(dst, (const void *) (uintptr_t) src, n); return 0; }
CUresult cuEventCreate(void **event, unsigned int flags) {
    (void) flags; fake_event *e = calloc(1, sizeof *e); *event = e; return 0;
}
CUresult cuEventRecord(void *event, void *stream) { (void) stream; ((fake_event *) event)->pending = 2; return 0; }
CUresult cuEventQuery(void *event) {
    fake_event *e = event;
    if (e->pending > 0) { e->pending--; fake_event_not_ready++; return 600; }
    return 0;
}
CUresult cuEventDestroy_v2(void *event) { free(event); return 0; }
CUresult cuGetErrorName(CUresult error, const char **name) {
    switch (error) {
        case 0: *name = "CUDA_SUCCESS"; return 0;
        case 600: *name = "CUDA_ERROR_NOT_READY"; return 0;
        case 801: *name = "CUDA_ERROR_NOT_SUPPORTED"; return 0;
        default: *name = 0; return 1;
    }
}
