/* One instruction set's version of the summary kernel; _summary.c includes this file once per
 * instruction set with VEC (a GCC vector type of W doubles), W, JB_MAX, SUFFIX and TARGET_ATTR defined.
 *
 * A tile of rows has been shifted into Z (rows × Dp, row-major, zero-padded to Dp, a multiple of
 * W). For one block of W columns i0..i0+W and a run of jb columns j0..j0+jb, every row adds
 * z[i0:i0+W]·z[j] into the accumulators, which stay in registers for the whole tile:
 * Sb[j][i0:i0+W] += Σ_rows z[i0:i0+W]·z[j]. U rows go to U sets of accumulators when jb is
 * small, so that the additions do not wait on each other.
 */

#define PASS CAT(pass_, SUFFIX)
#define TILE CAT(tile_, SUFFIX)

static inline __attribute__((always_inline)) TARGET_ATTR
void PASS(const double *restrict Z, size_t rows, size_t Dp, size_t i0, size_t j0,
          const int jb, const int U, double *restrict Sb, struct ahead *pf)
{
    VEC acc[4][JB_MAX];
    struct ahead ahead = *pf;                          /* in registers for the pass, not in memory */
    for (int u = 0; u < U; u++)
        for (int jj = 0; jj < jb; jj++)
            acc[u][jj] = u ? (VEC){0} : *(const VEC *)(Sb + (j0 + jj) * Dp + i0);
    for (size_t r = 0; r < rows; r += U) {
        fetch_ahead(&ahead);
        for (int u = 0; u < U; u++) {
            const double *z = Z + (r + u) * Dp;
            const VEC a = *(const VEC *)(z + i0);
            for (int jj = 0; jj < jb; jj++)
                acc[u][jj] += a * z[j0 + jj];
        }
    }
    for (int jj = 0; jj < jb; jj++) {
        VEC total = acc[0][jj];
        for (int u = 1; u < U; u++)
            total += acc[u][jj];
        *(VEC *)(Sb + (j0 + jj) * Dp + i0) = total;
    }
    *pf = ahead;
}

/* Every block of columns i0 against the columns j ≥ i0 of the tile (rows a multiple of 4). */
static __attribute__((noinline)) TARGET_ATTR
void TILE(const double *restrict Z, size_t rows, size_t D, size_t Dp, double *restrict Sb,
          struct ahead *pf)
{
    for (size_t i0 = 0; i0 < D; i0 += W) {
        for (size_t j0 = i0; j0 < D; j0 += JB_MAX) {
            const int jb = (int)(D - j0 < JB_MAX ? D - j0 : JB_MAX);
            switch (jb) {
#define CASE(J, UU) case J: PASS(Z, rows, Dp, i0, j0, J, UU, Sb, pf); break;
            CASE(1, 4) CASE(2, 4) CASE(3, 4) CASE(4, 2) CASE(5, 2) CASE(6, 2) CASE(7, 1) CASE(8, 1)
#if JB_MAX > 8
            CASE(9, 1) CASE(10, 1) CASE(11, 1) CASE(12, 1) CASE(13, 1) CASE(14, 1) CASE(15, 1) CASE(16, 1)
#endif
#undef CASE
            }
        }
    }
}

/* Add the tile's products into St every FLUSH_ROWS rows (and at the end). */
static inline __attribute__((always_inline)) TARGET_ATTR
void CAT(flush_, SUFFIX)(double *restrict Sb, double *restrict St, size_t Dp, size_t *since_flush, size_t rows,
                         int last)
{
    *since_flush += rows;
    if (*since_flush >= FLUSH_ROWS || last) {
        for (size_t k = 0; k < Dp * Dp; k++) {
            St[k] += Sb[k];
            Sb[k] = 0.0;
        }
        *since_flush = 0;
    }
}

/* One row of X (float64 or float32, converted as it is loaded) shifted into z: z[c] = x[c] − K[c]. */
#define SHIFT_ROW(T, LOAD)                                                      \
    do {                                                                        \
        const T *x = (const T *)X + (start + r) * d;                            \
        size_t c = 0;                                                           \
        for (; c + W <= d; c += W)                                              \
            *(VEC *)(z + c) = LOAD - *(const VEC *)(Kp + c);                    \
        for (; c < d; c++)                                                      \
            z[c] = (double)x[c] - Kp[c];                                        \
    } while (0)

/* The whole pass. Each tile of rows is shifted into Z with a last column of ones (so the products
 * with it are the sums s), then multiplied into Sb; every FLUSH_ROWS rows Sb is added into St: two
 * levels of sums, so rounding grows with FLUSH_ROWS + n/FLUSH_ROWS rather than with n.
 * X and y hold float64, or float32 where x32 / y32 (widened to float64 as they are loaded: the sums are
 * float64's either way). Z holds tile_rows rows of Dp ≥ d + 2 columns; Z's padding, Sb and St start at zero. */
static __attribute__((noinline)) TARGET_ATTR
void CAT(run_, SUFFIX)(const void *restrict X, int x32, const void *restrict y, int y32,
                       const double *restrict Kp, size_t n, size_t d, size_t Dp, size_t tile_rows,
                       double *restrict Z, double *restrict Sb, double *restrict St)
{
    const size_t Dz = d + 2, xs = x32 ? sizeof(float) : sizeof(double), ys = y32 ? sizeof(float) : sizeof(double);
    size_t since_flush = 0;
    for (size_t start = 0; start < n; start += tile_rows) {
        const size_t rows = n - start < tile_rows ? n - start : tile_rows;
        for (size_t r = 0; r < rows; r++) {
            double *z = Z + r * Dp;
            if (x32) {
                VECF f;
                SHIFT_ROW(float, (memcpy(&f, x + c, sizeof f), __builtin_convertvector(f, VEC)));
            } else {
                VEC v;
                SHIFT_ROW(double, (memcpy(&v, x + c, sizeof v), v));
            }
            z[d] = (y32 ? (double)((const float *)y)[start + r] : ((const double *)y)[start + r]) - Kp[d];
            z[d + 1] = 1.0;
        }
        const size_t rows4 = (rows + 3) & ~(size_t)3;
        for (size_t r = rows; r < rows4; r++)          /* zero rows add nothing */
            memset(Z + r * Dp, 0, Dz * sizeof(double));
        const size_t next = start + rows, next_rows = n - next < tile_rows ? n - next : tile_rows;
        struct ahead pf = {(const char *)X + next * d * xs, next_rows * d * xs,
                           (const char *)y + next * ys, next_rows * ys};
        TILE(Z, rows4, Dz, Dp, Sb, &pf);
        CAT(flush_, SUFFIX)(Sb, St, Dp, &since_flush, rows, start + rows == n);
    }
}

/* One column's rows of the tile into Z (column c of its rows), shifted. */
#define SHIFT_COLUMN(T)                                                         \
    do {                                                                        \
        const T *restrict x = (const T *)column + start;                        \
        for (size_t r = 0; r < rows; r++)                                       \
            Z[r * Dp + c] = (double)x[r] - k;                                   \
    } while (0)

/* The same pass over columns held apart (a Fortran-ordered X, or a file's columns as they were read):
 * each tile is gathered column by column, every column a sequential read, into the same row-major Z.
 * cols[c] (c < d) and y hold float64, or float32 where is32[c] / y32. */
static __attribute__((noinline)) TARGET_ATTR
void CAT(runcols_, SUFFIX)(const void *const *cols, const char *is32, const void *restrict y, int y32,
                           const double *restrict Kp, size_t n, size_t d, size_t Dp, size_t tile_rows,
                           double *restrict Z, double *restrict Sb, double *restrict St)
{
    const size_t Dz = d + 2;
    size_t since_flush = 0;
    for (size_t start = 0; start < n; start += tile_rows) {
        const size_t rows = n - start < tile_rows ? n - start : tile_rows;
        size_t c = 0;
        /* W columns of one type at a time: W rows of each loaded as vectors, turned into W rows of Z in
         * registers (TRANSPOSE), stored at once; the rows left over one at a time. */
        for (; c + W <= d; c += W) {
            int n32 = 0;
            for (int u = 0; u < W; u++)
                n32 += is32[c + u];
            if (n32 != 0 && n32 != W)
                break;
            const VEC k = *(const VEC *)(Kp + c);
            VEC a[W], t[W];
            size_t r = 0;
            if (n32) {
                const float *p[W];
                for (int u = 0; u < W; u++)
                    p[u] = (const float *)cols[c + u] + start;
                for (; r + W <= rows; r += W) {
                    for (int u = 0; u < W; u++) {
                        VECF f;
                        memcpy(&f, p[u] + r, sizeof f);
                        a[u] = __builtin_convertvector(f, VEC);
                    }
                    TRANSPOSE(a, t);
                    for (int i = 0; i < W; i++)
                        *(VEC *)(Z + (r + i) * Dp + c) = t[i] - k;
                }
                for (; r < rows; r++)
                    for (int u = 0; u < W; u++)
                        Z[r * Dp + c + u] = (double)p[u][r] - Kp[c + u];
            } else {
                const double *p[W];
                for (int u = 0; u < W; u++)
                    p[u] = (const double *)cols[c + u] + start;
                for (; r + W <= rows; r += W) {
                    for (int u = 0; u < W; u++)
                        memcpy(&a[u], p[u] + r, sizeof a[u]);
                    TRANSPOSE(a, t);
                    for (int i = 0; i < W; i++)
                        *(VEC *)(Z + (r + i) * Dp + c) = t[i] - k;
                }
                for (; r < rows; r++)
                    for (int u = 0; u < W; u++)
                        Z[r * Dp + c + u] = p[u][r] - Kp[c + u];
            }
        }
        for (; c <= d; c++) {                          /* column d: y */
            const void *column = c < d ? cols[c] : y;
            const double k = Kp[c];
            if (c < d ? is32[c] : y32)
                SHIFT_COLUMN(float);
            else
                SHIFT_COLUMN(double);
        }
        for (size_t r = 0; r < rows; r++)
            Z[r * Dp + d + 1] = 1.0;
        const size_t rows4 = (rows + 3) & ~(size_t)3;
        for (size_t r = rows; r < rows4; r++)          /* zero rows add nothing */
            memset(Z + r * Dp, 0, Dz * sizeof(double));
        struct ahead pf = {NULL, 0, NULL, 0};           /* sequential columns: the hardware prefetches */
        TILE(Z, rows4, Dz, Dp, Sb, &pf);
        CAT(flush_, SUFFIX)(Sb, St, Dp, &since_flush, rows, start + rows == n);
    }
}

#undef SHIFT_ROW
#undef SHIFT_COLUMN
#undef PASS
#undef TILE
