/* The accelerated rule's update in one call (descent.accelerated uses it when built).
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

static PyMethodDef methods[] = {
    {"accelerated", accelerated, METH_VARARGS,
     "accelerated(g, v, beta, beta_next, v_out, step_out) -> restart: v_out = beta*v + g; restart = g.v_out < 0;\n"
     "unless restart, step_out = beta_next*v_out + g (descent.accelerated's update, in one call)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_rules", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__rules(void)
{
    return PyModule_Create(&module);
}
