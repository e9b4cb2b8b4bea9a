/* gradfit's one-pass summary in one read of the data (stats.summarize uses it when built).
 *
 *     accumulate(X, y, K, S, s)    S += Σ (z − K)(z − K)ᵀ,  s += Σ (z − K)  over the rows z = [x, y]
 *     accumulate_columns(columns, y, K, S, s)    the same with X as d separate contiguous columns
 *     quadratic(M, mean, θ, gradient, n, λ)    the stats objective's loss and gradient at θ from the summary
 *
 * X: n × d and y: n, C-contiguous, float64 or float32 (widened as they are loaded: float32 data are never
 * copied, and their sums are float64's); K: d + 1 float64; S: (d + 1) × (d + 1) and s: d + 1, writable float64.
 * NumPy's way is a shifted copy of each block and then a BLAS syrk: two trips through the data.
 * Here each tile of rows is shifted into a small buffer that stays in the L1 cache and multiplied
 * there at once, with the sums held in vector registers (_summary_kernel.h); the version for the
 * widest vectors the CPU has (AVX-512, AVX2 + FMA, SSE2) is chosen when the module loads.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

#include "../_float64.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FLUSH_ROWS 4096          /* rows summed in Sb before it is added into the totals */
#define PF_LOCALITY 2            /* prefetch into L2 (measured: L2 ≈ L1 > L3 only) */
#ifndef TILE_BYTES
#define TILE_BYTES 24576         /* the shifted tile: inside L1 (32 or 48 KiB) with the sums */
#endif

/* While a tile is multiplied (no loads from memory), the next tile's rows of X and y are fetched
 * into the cache a line at a time, one line per row of every pass over the tile. */
struct ahead {
    const char *x;
    size_t x_bytes;
    const char *y;
    size_t y_bytes;
};

static inline __attribute__((always_inline)) void fetch_ahead(struct ahead *pf)
{
    if (pf->x_bytes) {
        __builtin_prefetch(pf->x, 0, PF_LOCALITY);
        pf->x += 64, pf->x_bytes = pf->x_bytes > 64 ? pf->x_bytes - 64 : 0;
    } else if (pf->y_bytes) {
        __builtin_prefetch(pf->y, 0, PF_LOCALITY);
        pf->y += 64, pf->y_bytes = pf->y_bytes > 64 ? pf->y_bytes - 64 : 0;
    }
}

typedef void run_fn(const void *, int, const void *, int, const double *, size_t, size_t, size_t, size_t,
                    double *, double *, double *);
typedef void runcols_fn(const void *const *, const char *, const void *, int, const double *, size_t, size_t, size_t,
                        size_t, double *, double *, double *);

#define VEC v2d
#define VECF v2f
#define W 2
#define JB_MAX 8
#define SUFFIX generic
#define TARGET_ATTR
typedef double v2d __attribute__((vector_size(16)));
typedef float v2f __attribute__((vector_size(8)));
typedef long long v2i __attribute__((vector_size(16)));
/* a[u] holds W rows of column u; t[i] gets row i of those W columns (a W × W transpose in registers) */
#define TRANSPOSE(a, t)                                                         \
    do {                                                                        \
        t[0] = __builtin_shuffle(a[0], a[1], (v2i){0, 2});                      \
        t[1] = __builtin_shuffle(a[0], a[1], (v2i){1, 3});                      \
    } while (0)
#include "_summary_kernel.h"
#undef VEC
#undef VECF
#undef W
#undef JB_MAX
#undef SUFFIX
#undef TARGET_ATTR
#undef TRANSPOSE

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_WIDE 1
typedef double v4d __attribute__((vector_size(32)));
typedef double v8d __attribute__((vector_size(64)));
typedef float v4f __attribute__((vector_size(16)));
typedef float v8f __attribute__((vector_size(32)));
typedef long long v4i __attribute__((vector_size(32)));
typedef long long v8i __attribute__((vector_size(64)));

/* Pairs of rows interleaved, then pairs of pairs (then quadruples): log2(W) rounds of shuffles. */
#define TRANSPOSE4(a, t)                                                        \
    do {                                                                        \
        VEC s0 = __builtin_shuffle(a[0], a[1], (v4i){0, 4, 2, 6});              \
        VEC s1 = __builtin_shuffle(a[0], a[1], (v4i){1, 5, 3, 7});              \
        VEC s2 = __builtin_shuffle(a[2], a[3], (v4i){0, 4, 2, 6});              \
        VEC s3 = __builtin_shuffle(a[2], a[3], (v4i){1, 5, 3, 7});              \
        t[0] = __builtin_shuffle(s0, s2, (v4i){0, 1, 4, 5});                    \
        t[1] = __builtin_shuffle(s1, s3, (v4i){0, 1, 4, 5});                    \
        t[2] = __builtin_shuffle(s0, s2, (v4i){2, 3, 6, 7});                    \
        t[3] = __builtin_shuffle(s1, s3, (v4i){2, 3, 6, 7});                    \
    } while (0)

#define TRANSPOSE8(a, t)                                                        \
    do {                                                                        \
        VEC s[8], q[8];                                                         \
        for (int h = 0; h < 8; h += 2) {                                        \
            s[h] = __builtin_shuffle(a[h], a[h + 1], (v8i){0, 8, 2, 10, 4, 12, 6, 14}); \
            s[h + 1] = __builtin_shuffle(a[h], a[h + 1], (v8i){1, 9, 3, 11, 5, 13, 7, 15}); \
        }                                                                       \
        for (int h = 0; h < 8; h += 4)                                          \
            for (int e = 0; e < 2; e++) {                                       \
                q[h + e] = __builtin_shuffle(s[h + e], s[h + e + 2], (v8i){0, 1, 8, 9, 4, 5, 12, 13}); \
                q[h + e + 2] = __builtin_shuffle(s[h + e], s[h + e + 2], (v8i){2, 3, 10, 11, 6, 7, 14, 15}); \
            }                                                                   \
        for (int e = 0; e < 4; e++) {                                           \
            t[e] = __builtin_shuffle(q[e], q[e + 4], (v8i){0, 1, 2, 3, 8, 9, 10, 11}); \
            t[e + 4] = __builtin_shuffle(q[e], q[e + 4], (v8i){4, 5, 6, 7, 12, 13, 14, 15}); \
        }                                                                       \
    } while (0)

#define VEC v4d
#define VECF v4f
#define TRANSPOSE TRANSPOSE4
#define W 4
#define JB_MAX 8
#define SUFFIX avx2
#define TARGET_ATTR __attribute__((target("avx2,fma")))
#include "_summary_kernel.h"
#undef VEC
#undef VECF
#undef W
#undef JB_MAX
#undef SUFFIX
#undef TARGET_ATTR
#undef TRANSPOSE

#define VEC v8d
#define VECF v8f
#define TRANSPOSE TRANSPOSE8
#define W 8
#define JB_MAX 16
#define SUFFIX avx512
#define TARGET_ATTR __attribute__((target("avx512f")))
#include "_summary_kernel.h"
#undef VEC
#undef VECF
#undef W
#undef JB_MAX
#undef SUFFIX
#undef TARGET_ATTR
#undef TRANSPOSE
#endif

struct kernel {
    const char *isa;
    run_fn *run;
    size_t width;
    runcols_fn *runcols;
};

/* Widest first; kernels[0 .. n_kernels) are the ones this CPU runs, the first of them the default. */
static struct kernel kernels[3];
static int n_kernels;

static void find_kernels(void)
{
#ifdef HAVE_WIDE
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        kernels[n_kernels++] = (struct kernel){"avx512f", run_avx512, 8, runcols_avx512};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        kernels[n_kernels++] = (struct kernel){"avx2", run_avx2, 4, runcols_avx2};
    kernels[n_kernels++] = (struct kernel){"sse2", run_generic, 2, runcols_generic};
#else
    kernels[n_kernels++] = (struct kernel){"generic", run_generic, 2, runcols_generic};
#endif
}

static double *zeroed(size_t count)
{
    size_t bytes = (count * sizeof(double) + 63) & ~(size_t)63;
    double *p = aligned_alloc(64, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

/* The buffer obj as float64 or float32 values, C-contiguous: 1 and its view in b (its float32-ness in *f32),
 * or 0 with a ValueError naming it. */
static int floats(PyObject *obj, Py_buffer *b, int *f32, const char *name)
{
    if (PyObject_GetBuffer(obj, b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return 0;
    const char *fmt = b->format ? b->format : "B";
    if (*fmt == '@' || *fmt == '=' || *fmt == '<')
        fmt++;
    if ((fmt[0] == 'd' || fmt[0] == 'f') && !fmt[1] && b->itemsize == (fmt[0] == 'd' ? 8 : 4)) {
        *f32 = fmt[0] == 'f';
        return 1;
    }
    PyErr_Format(PyExc_ValueError, "accumulate: %s must hold float64 or float32 values, not '%s'", name, b->format);
    PyBuffer_Release(b);
    return 0;
}

static int length_is(Py_buffer *b, Py_ssize_t count, const char *name)
{
    if (b->len == count * b->itemsize)
        return 1;
    PyErr_Format(PyExc_ValueError, "%s has %zd values, expected %zd", name, b->len / b->itemsize, count);
    return 0;
}

/* The kernel named isa (NULL: the default), or NULL with a ValueError. */
static const struct kernel *kernel_for(const char *isa)
{
    if (!isa)
        return &kernels[0];
    for (int k = 0; k < n_kernels; k++)
        if (!strcmp(isa, kernels[k].isa))
            return &kernels[k];
    PyErr_Format(PyExc_ValueError, "accumulate: this CPU has no %s kernel", isa);
    return NULL;
}

/* Run the pass (rows of X, or columns cols when X is NULL) and add its sums into S and s. */
static int run_pass(const struct kernel *kernel, const void *X, int x32, const void *const *cols, const char *is32,
                    const void *y, int y32, Py_ssize_t n, Py_ssize_t D, const double *K, double *Sout, double *sout)
{
    const Py_ssize_t d = D - 1;
    const size_t width = kernel->width, Dp = ((size_t)D + 1 + width - 1) / width * width;   /* d + 2 columns, padded */
    size_t tile_rows = TILE_BYTES / (Dp * sizeof(double)) / 4 * 4;
    if (tile_rows < 4)
        tile_rows = 4;
    double *Z = zeroed(tile_rows * Dp), *Sb = zeroed(Dp * Dp), *St = zeroed(Dp * Dp), *Kp = zeroed(Dp);
    int ok = Z && Sb && St && Kp;
    if (!ok) {
        PyErr_NoMemory();
    } else {
        memcpy(Kp, K, (size_t)D * sizeof(double));
        Py_BEGIN_ALLOW_THREADS
        if (X)
            kernel->run(X, x32, y, y32, Kp, (size_t)n, (size_t)d, Dp, tile_rows, Z, Sb, St);
        else
            kernel->runcols(cols, is32, y, y32, Kp, (size_t)n, (size_t)d, Dp, tile_rows, Z, Sb, St);
        for (Py_ssize_t j = 0; j < D; j++) {        /* St[j][i] holds Σ z_i z_j for i ≤ j */
            for (Py_ssize_t i = 0; i <= j; i++) {
                Sout[i * D + j] += St[j * Dp + i];
                if (i != j)
                    Sout[j * D + i] += St[j * Dp + i];
            }
            sout[j] += St[D * Dp + j];              /* the products with the ones column */
        }
        Py_END_ALLOW_THREADS
    }
    free(Z), free(Sb), free(St), free(Kp);
    return ok;
}

/* K, S and s: float64 buffers of d + 1, (d + 1)² and d + 1 values (S and s writable); D = d + 1 from K. */
static int sums_ok(Py_buffer *K, Py_buffer *S, Py_buffer *s, Py_ssize_t *D)
{
    *D = K->len / (Py_ssize_t)sizeof(double);
    if (*D < 1) {
        PyErr_SetString(PyExc_ValueError, "accumulate: K must have d + 1 values");
        return 0;
    }
    return length_is(S, *D * *D, "S") && length_is(s, *D, "s");
}

static PyObject *accumulate(PyObject *self, PyObject *args)
{
    PyObject *Xobj, *yobj;
    Py_buffer X = {0}, y = {0}, K, S, s;
    int x32 = 0, y32 = 0;
    const char *isa = NULL;
    PyObject *result = NULL;
    Py_ssize_t D = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOy*w*w*|s", &Xobj, &yobj, &K, &S, &s, &isa))
        return NULL;
    const struct kernel *kernel = kernel_for(isa);
    if (kernel && sums_ok(&K, &S, &s, &D) && floats(Xobj, &X, &x32, "X") && floats(yobj, &y, &y32, "y")) {
        const Py_ssize_t n = y.len / y.itemsize;
        if (length_is(&X, n * (D - 1), "X")
            && run_pass(kernel, X.buf, x32, NULL, NULL, y.buf, y32, n, D, K.buf, S.buf, s.buf)) {
            Py_INCREF(Py_None);
            result = Py_None;
        }
    }
    if (X.obj)
        PyBuffer_Release(&X);
    if (y.obj)
        PyBuffer_Release(&y);
    PyBuffer_Release(&K), PyBuffer_Release(&S), PyBuffer_Release(&s);
    return result;
}

static PyObject *accumulate_columns(PyObject *self, PyObject *args)
{
    PyObject *columns, *yobj;
    Py_buffer y = {0}, K, S, s;
    int y32 = 0;
    const char *isa = NULL;
    PyObject *result = NULL;
    Py_ssize_t D = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOy*w*w*|s", &columns, &yobj, &K, &S, &s, &isa))
        return NULL;
    PyObject *seq = PySequence_Fast(columns, "accumulate_columns: the columns must be a sequence");
    const struct kernel *kernel = seq ? kernel_for(isa) : NULL;
    Py_buffer *views = NULL;
    const void **cols = NULL;
    char *is32 = NULL;
    Py_ssize_t held = 0;
    if (kernel && sums_ok(&K, &S, &s, &D) && floats(yobj, &y, &y32, "y")) {
        const Py_ssize_t n = y.len / y.itemsize, d = D - 1, given = PySequence_Fast_GET_SIZE(seq);
        if (given != d)
            PyErr_Format(PyExc_ValueError, "accumulate_columns: %zd columns for K of %zd values", given, D);
        else {
            views = PyMem_Calloc((size_t)(d ? d : 1), sizeof(Py_buffer));
            cols = PyMem_Calloc((size_t)(d ? d : 1), sizeof(void *));
            is32 = PyMem_Calloc((size_t)(d ? d : 1), 1);
            if (!views || !cols || !is32)
                PyErr_NoMemory();
            for (; views && cols && is32 && held < d; held++) {
                int f32 = 0;
                if (!floats(PySequence_Fast_GET_ITEM(seq, held), &views[held], &f32, "a column"))
                    break;
                if (!length_is(&views[held], n, "a column")) {
                    held++;
                    break;
                }
                cols[held] = views[held].buf;
                is32[held] = (char)f32;
            }
            if (!PyErr_Occurred() && run_pass(kernel, NULL, 0, cols, is32, y.buf, y32, n, D, K.buf, S.buf, s.buf)) {
                Py_INCREF(Py_None);
                result = Py_None;
            }
        }
    }
    for (Py_ssize_t j = 0; j < held; j++)
        PyBuffer_Release(&views[j]);
    PyMem_Free(views), PyMem_Free(cols), PyMem_Free(is32);
    Py_XDECREF(seq);
    if (y.obj)
        PyBuffer_Release(&y);
    PyBuffer_Release(&K), PyBuffer_Release(&S), PyBuffer_Release(&s);
    return result;
}

/* quadratic(M, mean, theta, gradient, n, scale) -> loss: the stats objective at θ = [w(, b)] from the summary,
 * the formulas of stats.py's docstring with v = [w, −1] and c = x̄·w + b − ȳ (the mean residual):
 *     Loss = λ·(vᵀMv + n·c²),   ∂Loss/∂w = 2λ·(M_w·v + n·c·x̄),   ∂Loss/∂b = 2λ·n·c
 * M: (d + 1)², mean: d + 1, θ and the gradient (written): d + 1 with an intercept, d without.
 * Each iteration of a fit on the summary calls it once: at small d, NumPy's few-hundred-nanosecond cost per
 * operation was most of an iteration (stats.StatsObjective.loss_and_gradient has the NumPy form). */
static PyObject *quadratic(PyObject *self, PyObject *args)
{
    PyObject *objects[4];
    Py_buffer views[4];
    Py_ssize_t n;
    double scale;
    PyObject *result = NULL;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOnd", &objects[0], &objects[1], &objects[2], &objects[3], &n, &scale))
        return NULL;
    const int held = float64_buffers(objects, views, 4, 1, "quadratic");
    if (held < 4) {
        for (int j = 0; j < held; j++)
            PyBuffer_Release(&views[j]);
        return NULL;
    }
    Py_buffer M = views[0], mean = views[1], theta = views[2], grad = views[3];
    const Py_ssize_t D = mean.len / (Py_ssize_t)sizeof(double), d = D - 1;
    const Py_ssize_t k = theta.len / (Py_ssize_t)sizeof(double);
    if (D < 1 || (k != d && k != D) || !length_is(&M, D * D, "M") || !length_is(&grad, k, "gradient")) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "quadratic: theta must have d or d + 1 values");
    } else {
        const double *m = M.buf, *zbar = mean.buf, *t = theta.buf;
        double *g = grad.buf;
        double c = (k == D ? t[d] : 0.0) - zbar[d], quad = 0.0;
        for (Py_ssize_t j = 0; j < d; j++)
            c += zbar[j] * t[j];
        for (Py_ssize_t i = 0; i <= d; i++) {          /* (Mv)_i, v = [w, −1] */
            const double *row = m + i * D;
            double mv = -row[d];
            for (Py_ssize_t j = 0; j < d; j++)
                mv += row[j] * t[j];
            quad += (i < d ? t[i] : -1.0) * mv;
            if (i < d)
                g[i] = 2.0 * scale * (mv + (double)n * c * zbar[i]);
        }
        if (k == D)
            g[d] = 2.0 * scale * (double)n * c;
        result = PyFloat_FromDouble(scale * ((quad > 0.0 ? quad : 0.0) + (double)n * c * c));
    }
    for (int j = 0; j < 4; j++)
        PyBuffer_Release(&views[j]);
    return result;
}

static PyMethodDef methods[] = {
    {"accumulate", accumulate, METH_VARARGS,
     "accumulate(X, y, K, S, s[, isa]): S += Σ (z − K)(z − K)ᵀ and s += Σ (z − K) over the rows z = [x, y].\n"
     "X (C-contiguous) and y hold float64 or float32 values (summed in float64); K, S and s are float64.\n"
     "isa picks one of KERNELS (default: the first, the widest vectors this CPU has)."},
    {"accumulate_columns", accumulate_columns, METH_VARARGS,
     "accumulate_columns(columns, y, K, S, s[, isa]): the same, X given as d contiguous columns of n values\n"
     "(each float64 or float32)."},
    {"quadratic", quadratic, METH_VARARGS,
     "quadratic(M, mean, theta, gradient, n, scale) -> loss: the stats objective's loss at theta, its gradient\n"
     "written into gradient (from the summary's co-moments M and means; theta with or without the intercept)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_summary", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__summary(void)
{
    find_kernels();
    PyObject *m = PyModule_Create(&module);
    PyObject *names = PyTuple_New(n_kernels);
    for (int k = 0; names && k < n_kernels; k++)
        PyTuple_SET_ITEM(names, k, PyUnicode_FromString(kernels[k].isa));
    if (!m || !names || PyModule_AddObject(m, "KERNELS", names) < 0
        || PyModule_AddStringConstant(m, "ISA", kernels[0].isa) < 0) {
        Py_XDECREF(names);
        Py_XDECREF(m);
        return NULL;
    }
    return m;
}
