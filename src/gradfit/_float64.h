/* Shared by gradfit's two C extensions (engines/_summary.c, _rules.c). */
#ifndef GRADFIT_FLOAT64_H
#define GRADFIT_FLOAT64_H

#include <Python.h>
#include <string.h>

/* A C-contiguous float64 buffer of obj (writable if asked): 1, or 0 with a Python error set (a TypeError naming
 * `who` for another element type; NumPy's own error for a strided array or a read-only one). */
static int float64_buffer(PyObject *obj, Py_buffer *view, int writable, const char *who)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return 0;
    const char *f = view->format;
    if (view->itemsize == (Py_ssize_t)sizeof(double) && f && (!strcmp(f, "d") || !strcmp(f, "<d") || !strcmp(f, "=d")))
        return 1;
    PyBuffer_Release(view);
    PyErr_Format(PyExc_TypeError, "%s: the arrays must hold float64", who);
    return 0;
}

/* float64_buffer for objects[0 .. count): how many were acquired (all of them, or fewer with an error set);
 * the last `writable` of them are asked writable. The caller releases views[0 .. returned). */
static int float64_buffers(PyObject **objects, Py_buffer *views, int count, int writable, const char *who)
{
    int held = 0;
    while (held < count && float64_buffer(objects[held], &views[held], held >= count - writable, who))
        held++;
    return held;
}

#endif
