/* The trace text reader (_trace_reader.c), compiled into the _kernel module next to the
 * controller loop (_kernel.c), which lists it in the module's methods. Include after
 * <Python.h>. The names carry the package's prefix: they are the only symbols the two files
 * share. */
#ifndef NPUSIM_TRACE_READER_H
#define NPUSIM_TRACE_READER_H

/* Fill the reader's digit table; once, at module init, before any npusim_parse_trace. */
void npusim_trace_reader_init(void);

/* parse_trace(data) -> (addr int64, is_write uint8, size int64 | None, cycle int64 | None)
   bytearrays, or None when the data is not the reader's strict subset of the format. */
PyObject *npusim_parse_trace(PyObject *self, PyObject *data);

#endif
