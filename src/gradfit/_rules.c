/* The accelerated rule's update in one call (descent.accelerated uses it when built); and coordinate descent's
 * sweeps on the Gram matrix (coordinate.sweeps uses them when built).
 *
 *     accelerated(g, v, β, β', v_out, step_out) -> restart
 *         v_out = β·v + g;  restart = gᵀv_out < 0;  unless restart: step_out = β'·v_out + g
 *
 * The same arithmetic as descent.py's NumPy form, operation for operation (each product rounded before
 * the sum: setup.py builds this file with -ffp-contract=off, so no fused multiply-add changes a bit).
 * At d = 16 the NumPy form's five array operations cost about 1.6 µs of overhead, most of an iteration
 * on the summary; this call costs a few hundred nanoseconds (as PyTorch's fused optimizers, for the
 * same reason). All arrays: float64, C-contiguous, the same length; v_out and step_out writable.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#include "_float64.h"

static PyObject *accelerated(PyObject *self, PyObject *args)
{
    PyObject *objects[4];
    double beta, beta_next;
    Py_buffer views[4];
    PyObject *result = NULL;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOddOO", &objects[0], &objects[1], &beta, &beta_next, &objects[2], &objects[3]))
        return NULL;
    const int held = float64_buffers(objects, views, 4, 2, "accelerated");
    if (held == 4) {
        const Py_ssize_t n = views[0].len / (Py_ssize_t)sizeof(double);
        if (views[1].len != views[0].len || views[2].len != views[0].len || views[3].len != views[0].len) {
            PyErr_SetString(PyExc_ValueError, "accelerated: the gradient, velocity and outputs differ in length");
        } else {
            const double *g = views[0].buf, *v = views[1].buf;
            double *v_out = views[2].buf, *step = views[3].buf, dot = 0.0;
            for (Py_ssize_t i = 0; i < n; i++) {
                double scaled = v[i] * beta;
                v_out[i] = scaled + g[i];
                dot += g[i] * v_out[i];
            }
            int restart = dot < 0;
            if (!restart)
                for (Py_ssize_t i = 0; i < n; i++) {
                    double scaled = v_out[i] * beta_next;
                    step[i] = scaled + g[i];
                }
            result = PyBool_FromLong(restart);
        }
    }
    for (int j = 0; j < held; j++)
        PyBuffer_Release(&views[j]);
    return result;
}


/* coordinate.duality_gap restricted to the coordinates in active[0 .. k) (w is 0 outside them). */
static double restricted_gap(const double *c, const double *tau, const double *kappa, const double *w,
                             const double *Gw, const long long *active, Py_ssize_t k, double yy)
{
    double cw = 0.0, l1 = 0.0, correlation = 0.0, dual_norm = 0.0, ridge = 0.0;
    int lasso = 0;
    for (Py_ssize_t i = 0; i < k; i++) {
        const long long j = active[i];
        const double rho = c[j] - Gw[j] - kappa[j] * w[j];
        cw += c[j] * w[j];
        l1 += tau[j] * fabs(w[j]);
        correlation += w[j] * rho;
        if (tau[j] > 0) {
            lasso = 1;
            if (fabs(rho) / tau[j] > dual_norm)
                dual_norm = fabs(rho) / tau[j];
        } else if (kappa[j] > 0) {
            ridge += rho * rho / (2 * kappa[j]);
        }
    }
    if (!lasso)
        return ridge;
    const double s = dual_norm <= 1.0 ? 1.0 : 1.0 / dual_norm;
    return l1 - correlation + 0.5 * (1 - s * s) * correlation + 0.5 * (1 - s) * (1 - s) * (yy - cw);
}

#define ANDERSON 5   /* coordinate.ANDERSON: sweeps per extrapolation */

/* The restricted objective P(w) − ½yy over active[0 .. k), Gw = G·w (w is 0 outside active). */
static double restricted_objective(const double *c, const double *tau, const double *kappa, const double *w,
                                   const double *Gw, const long long *active, Py_ssize_t k)
{
    double value = 0.0;
    for (Py_ssize_t i = 0; i < k; i++) {
        const long long j = active[i];
        value += 0.5 * w[j] * Gw[j] - c[j] * w[j] + tau[j] * fabs(w[j]) + 0.5 * kappa[j] * w[j] * w[j];
    }
    return value;
}

/* coordinate.anderson: the combination Σ cᵢ·slots[i+1] (Σ cᵢ = 1) of the last ANDERSON sweeps' iterates that
 * minimises ‖Σ cᵢ·(slots[i+1] − slots[i])‖, taken where it lowers P. slots: (ANDERSON + 1) × k; scratch: 2d. */
static void anderson(const double *G, const double *c, const double *tau, const double *kappa, double *w, double *Gw,
                     const long long *active, Py_ssize_t k, Py_ssize_t d, const double *slots, double *scratch)
{
    double C[ANDERSON][ANDERSON + 1], z[ANDERSON];
    for (int i = 0; i < ANDERSON; i++)
        for (int l = 0; l <= i; l++) {
            double sum = 0.0;
            for (Py_ssize_t m = 0; m < k; m++)
                sum += (slots[(i + 1) * k + m] - slots[i * k + m]) * (slots[(l + 1) * k + m] - slots[l * k + m]);
            C[i][l] = C[l][i] = sum;
        }
    for (int i = 0; i < ANDERSON; i++)
        C[i][ANDERSON] = 1.0;
    for (int i = 0; i < ANDERSON; i++) {   /* C·z = 1 by elimination with partial pivoting */
        int pivot = i;
        for (int r = i + 1; r < ANDERSON; r++)
            if (fabs(C[r][i]) > fabs(C[pivot][i]))
                pivot = r;
        if (!(fabs(C[pivot][i]) > 0))
            return;                          /* the steps are dependent: no extrapolation */
        if (pivot != i)
            for (int l = 0; l <= ANDERSON; l++) {
                const double t = C[i][l];
                C[i][l] = C[pivot][l];
                C[pivot][l] = t;
            }
        for (int r = i + 1; r < ANDERSON; r++) {
            const double f = C[r][i] / C[i][i];
            for (int l = i; l <= ANDERSON; l++)
                C[r][l] -= f * C[i][l];
        }
    }
    double total = 0.0;
    for (int i = ANDERSON - 1; i >= 0; i--) {
        double sum = C[i][ANDERSON];
        for (int l = i + 1; l < ANDERSON; l++)
            sum -= C[i][l] * z[l];
        z[i] = sum / C[i][i];
        total += z[i];
    }
    if (!(fabs(total) > 0) || !isfinite(total))
        return;
    double *extrapolated = scratch, *Gx = scratch + d;
    for (Py_ssize_t j = 0; j < d; j++) {
        extrapolated[j] = 0.0;
        Gx[j] = Gw[j];
    }
    for (Py_ssize_t m = 0; m < k; m++) {
        double sum = 0.0;
        for (int i = 0; i < ANDERSON; i++)
            sum += z[i] / total * slots[(i + 1) * k + m];
        const long long j = active[m];
        extrapolated[j] = sum;
        const double step = sum - w[j];
        const double *row = G + j * d;
        for (Py_ssize_t r = 0; r < d; r++)
            Gx[r] += step * row[r];
    }
    if (restricted_objective(c, tau, kappa, extrapolated, Gx, active, k) <
        restricted_objective(c, tau, kappa, w, Gw, active, k)) {
        for (Py_ssize_t m = 0; m < k; m++)
            w[active[m]] = extrapolated[active[m]];
        memcpy(Gw, Gx, (size_t)d * sizeof(double));
    }
}

/* Cyclic sweeps over active[0 .. k) until the restricted gap ≤ tol, a sweep changes nothing, or max_sweeps; w and
 * Gw updated in place, every ANDERSON sweeps an extrapolation. Returns the sweeps made; *gap the last restricted
 * gap, *stalled whether a sweep changed nothing first. slots: (ANDERSON + 1)·d, scratch: 2d. */
static Py_ssize_t sweeps(const double *G, const double *c, const double *tau, const double *kappa, double *w,
                         double *Gw, const long long *active, Py_ssize_t k, Py_ssize_t d, Py_ssize_t max_sweeps,
                         double yy, double tol, double *gap, int *stalled, double *slots, double *scratch)
{
    Py_ssize_t done = 0;
    int filled = 0;
    *stalled = 0;
    for (Py_ssize_t m = 0; m < k; m++)
        slots[m] = w[active[m]];
    while (done < max_sweeps) {
        done++;
        int changed = 0;
        for (Py_ssize_t i = 0; i < k; i++) {
            const long long j = active[i];
            const double *row = G + j * d, curvature = row[j] + kappa[j];
            if (curvature == 0.0)
                continue;
            const double old = w[j], z = c[j] - Gw[j] + row[j] * old;   /* xⱼ·(partial residual) */
            const double shrunk = fabs(z) - tau[j];
            const double new = shrunk > 0 ? copysign(shrunk, z) / curvature : 0.0;   /* S(z, τⱼ)/(Gⱼⱼ + κⱼ) */
            if (new != old) {
                const double step = new - old;
                for (Py_ssize_t m = 0; m < d; m++)   /* Gw += Δwⱼ·G[:, j] (row j: G is symmetric) */
                    Gw[m] += step * row[m];
                w[j] = new;
                changed = 1;
            }
        }
        *gap = restricted_gap(c, tau, kappa, w, Gw, active, k, yy);
        if (*gap <= tol)
            break;
        if (!changed) {
            *stalled = 1;
            break;
        }
        filled++;
        for (Py_ssize_t m = 0; m < k; m++)
            slots[filled * k + m] = w[active[m]];
        if (filled == ANDERSON) {
            anderson(G, c, tau, kappa, w, Gw, active, k, d, slots, scratch);
            filled = 0;
            for (Py_ssize_t m = 0; m < k; m++)
                slots[m] = w[active[m]];
        }
    }
    return done;
}

/* coordinate._solve for one α: the strong set, sweeps, the KKT check on the rest, Gw recomputed, the full gap.
 * active, inside: scratch of length d. Returns the sweeps made; *gap the full gap. */
static Py_ssize_t solve_one(const double *G, const double *c, const double *tau, const double *tau_before,
                            const double *kappa, double *w, double *Gw, long long *active, char *inside, Py_ssize_t d,
                            Py_ssize_t max_iter, double yy, double tol, int screen, double *gap, double *slots,
                            double *scratch)
{
    Py_ssize_t k = 0, done = 0;
    for (Py_ssize_t j = 0; j < d; j++) {   /* the sequential strong rule */
        inside[j] = !screen || w[j] != 0 || fabs(c[j] - Gw[j]) >= 2 * tau[j] - tau_before[j];
        if (inside[j])
            active[k++] = j;
    }
    for (;;) {
        double restricted;
        int stalled;
        const Py_ssize_t budget = max_iter - done > 1 ? max_iter - done : 1;
        const Py_ssize_t made = sweeps(G, c, tau, kappa, w, Gw, active, k, d, budget, yy, tol, &restricted, &stalled,
                                       slots, scratch);
        done += made;
        int violated = 0;
        for (Py_ssize_t j = 0; j < d; j++)   /* the KKT check: 0 optimal for every wⱼ held out */
            if (!inside[j] && fabs(c[j] - Gw[j]) > tau[j]) {
                inside[j] = 1;
                violated = 1;
            }
        if (violated) {
            k = 0;
            for (Py_ssize_t j = 0; j < d; j++)
                if (inside[j])
                    active[k++] = j;
            continue;
        }
        for (Py_ssize_t m = 0; m < d; m++) {   /* Gw afresh: its updates' rounding cannot fake the gap */
            double sum = 0.0;
            const double *row = G + m * d;
            for (Py_ssize_t j = 0; j < d; j++)
                sum += row[j] * w[j];
            Gw[m] = sum;
        }
        for (Py_ssize_t j = 0; j < d; j++)
            active[j] = j;
        *gap = restricted_gap(c, tau, kappa, w, Gw, active, d, yy);
        if (stalled || done >= max_iter || *gap <= tol)
            return done;
        k = 0;
        for (Py_ssize_t j = 0; j < d; j++)
            if (inside[j])
                active[k++] = j;
    }
}

/* enet_path(G, c, tau_unit, kappa_unit, alphas, alpha_before, w, Gw, coefs, gaps, iters, max_iter, yy, tol, screen):
 * coordinate.path's loop over α > 0 (τ = α·tau_unit, κ = α·kappa_unit), w and Gw warm-started and updated in place,
 * row k of coefs (k × d), gaps[k] and iters[k] (float64) written per α. */
static PyObject *enet_path(PyObject *self, PyObject *args)
{
    PyObject *objects[10];
    Py_ssize_t max_iter;
    double alpha_before, yy, tol;
    int screen;
    Py_buffer views[10];
    PyObject *result = NULL;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOOdOOOOOnddp", &objects[0], &objects[1], &objects[2], &objects[3], &objects[4],
                          &alpha_before, &objects[5], &objects[6], &objects[7], &objects[8], &objects[9], &max_iter,
                          &yy, &tol, &screen))
        return NULL;
    const int held = float64_buffers(objects, views, 10, 5, "enet_path");
    if (held == 10) {
        const Py_ssize_t d = views[1].len / (Py_ssize_t)sizeof(double);
        const Py_ssize_t n_alphas = views[4].len / (Py_ssize_t)sizeof(double);
        int ok = views[0].len == d * d * (Py_ssize_t)sizeof(double) && views[2].len == views[1].len &&
                 views[3].len == views[1].len && views[5].len == views[1].len && views[6].len == views[1].len &&
                 views[7].len == n_alphas * views[1].len && views[8].len == views[4].len &&
                 views[9].len == views[4].len;
        double *scratch = ok ? PyMem_Malloc((size_t)((ANDERSON + 6) * d + 1) * sizeof(double)) : NULL;
        long long *active = ok ? PyMem_Malloc((size_t)(d + 1) * sizeof(long long)) : NULL;
        char *inside = ok ? PyMem_Malloc((size_t)d + 1) : NULL;
        if (!ok) {
            PyErr_SetString(PyExc_ValueError, "enet_path: G must be d×d; c, tau_unit, kappa_unit, w, Gw of length d; "
                                              "coefs k×d, gaps and iters of the length of alphas");
        } else if (!scratch || !active || !inside) {
            PyErr_NoMemory();
        } else {
            const double *G = views[0].buf, *c = views[1].buf, *tau_unit = views[2].buf, *kappa_unit = views[3].buf;
            const double *alphas = views[4].buf;
            double *w = views[5].buf, *Gw = views[6].buf, *coefs = views[7].buf, *gaps = views[8].buf;
            double *iters = views[9].buf;
            double *tau = scratch, *kappa = scratch + d, *tau_before = scratch + 2 * d, *more = scratch + 3 * d;
            Py_BEGIN_ALLOW_THREADS
            for (Py_ssize_t j = 0; j < d; j++)
                tau_before[j] = alpha_before * tau_unit[j];
            for (Py_ssize_t a = 0; a < n_alphas; a++) {
                for (Py_ssize_t j = 0; j < d; j++) {
                    tau[j] = alphas[a] * tau_unit[j];
                    kappa[j] = alphas[a] * kappa_unit[j];
                }
                double gap = 0.0;
                iters[a] = (double)solve_one(G, c, tau, tau_before, kappa, w, Gw, active, inside, d, max_iter, yy,
                                             tol, screen, &gap, more + 2 * d, more);
                gaps[a] = gap;
                memcpy(coefs + a * d, w, (size_t)d * sizeof(double));
                memcpy(tau_before, tau, (size_t)d * sizeof(double));
            }
            Py_END_ALLOW_THREADS
            Py_INCREF(Py_None);
            result = Py_None;
        }
        PyMem_Free(scratch);
        PyMem_Free(active);
        PyMem_Free(inside);
    }
    for (int j = 0; j < held; j++)
        PyBuffer_Release(&views[j]);
    return result;
}

static PyMethodDef methods[] = {
    {"accelerated", accelerated, METH_VARARGS,
     "accelerated(g, v, beta, beta_next, v_out, step_out) -> restart: v_out = beta*v + g; restart = g.v_out < 0;\n"
     "unless restart, step_out = beta_next*v_out + g (descent.accelerated's update, in one call)."},
    {"enet_path", enet_path, METH_VARARGS,
     "enet_path(G, c, tau_unit, kappa_unit, alphas, alpha_before, w, Gw, coefs, gaps, iters, max_iter, yy, tol,\n"
     "screen): coordinate.path's loop over alpha > 0 by cyclic coordinate descent on the Gram matrix (see there)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_rules", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__rules(void)
{
    return PyModule_Create(&module);
}
