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
    for (int u = 0; u < U; u++)
        for (int jj = 0; jj < jb; jj++)
            acc[u][jj] = u ? (VEC){0} : *(const VEC *)(Sb + (j0 + jj) * Dp + i0);
    for (size_t r = 0; r < rows; r += U) {
        fetch_ahead(pf);
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
            CASE(1, 4) CASE(2, 2) CASE(3, 2) CASE(4, 1) CASE(5, 1) CASE(6, 1) CASE(7, 1) CASE(8, 1)
#if JB_MAX > 8
            CASE(9, 1) CASE(10, 1) CASE(11, 1) CASE(12, 1) CASE(13, 1) CASE(14, 1) CASE(15, 1) CASE(16, 1)
#endif
#undef CASE
            }
        }
    }
}

/* The whole pass. Each tile of rows is shifted into Z with a last column of ones (so the products
 * with it are the sums s), then multiplied into Sb; every FLUSH_ROWS rows Sb is added into St: two
 * levels of sums, so rounding grows with FLUSH_ROWS + n/FLUSH_ROWS rather than with n.
 * Z holds tile_rows rows of Dp ≥ d + 2 columns; Z's padding, Sb and St start at zero. */
static __attribute__((noinline)) TARGET_ATTR
void CAT(run_, SUFFIX)(const double *restrict X, const double *restrict y, const double *restrict Kp,
                       size_t n, size_t d, size_t Dp, size_t tile_rows, double *restrict Z,
                       double *restrict Sb, double *restrict St)
{
    const size_t Dz = d + 2;
    size_t since_flush = 0;
    for (size_t start = 0; start < n; start += tile_rows) {
        const size_t rows = n - start < tile_rows ? n - start : tile_rows;
        for (size_t r = 0; r < rows; r++) {
            const double *x = X + (start + r) * d;
            double *z = Z + r * Dp;
            size_t c = 0;
            for (; c + W <= d; c += W) {
                VEC v;
                memcpy(&v, x + c, sizeof v);
                *(VEC *)(z + c) = v - *(const VEC *)(Kp + c);
            }
            for (; c < d; c++)
                z[c] = x[c] - Kp[c];
            z[d] = y[start + r] - Kp[d];
            z[d + 1] = 1.0;
        }
        const size_t rows4 = (rows + 3) & ~(size_t)3;
        for (size_t r = rows; r < rows4; r++)          /* zero rows add nothing */
            memset(Z + r * Dp, 0, Dz * sizeof(double));
        const size_t next = start + rows, next_rows = n - next < tile_rows ? n - next : tile_rows;
        struct ahead pf = {(const char *)(X + next * d), next_rows * d * sizeof(double),
                           (const char *)(y + next), next_rows * sizeof(double)};
        TILE(Z, rows4, Dz, Dp, Sb, &pf);
        since_flush += rows;
        if (since_flush >= FLUSH_ROWS || start + rows == n) {
            for (size_t k = 0; k < Dp * Dp; k++) {
                St[k] += Sb[k];
                Sb[k] = 0.0;
            }
            since_flush = 0;
        }
    }
}

/* The same pass over columns held apart (a Fortran-ordered X, or a file's columns as they were read):
 * each tile is gathered column by column, every column a sequential read, into the same row-major Z. */
static __attribute__((noinline)) TARGET_ATTR
void CAT(runcols_, SUFFIX)(const double *const *cols, const double *restrict y, const double *restrict Kp,
                           size_t n, size_t d, size_t Dp, size_t tile_rows, double *restrict Z,
                           double *restrict Sb, double *restrict St)
{
    const size_t Dz = d + 2;
    size_t since_flush = 0;
    for (size_t start = 0; start < n; start += tile_rows) {
        const size_t rows = n - start < tile_rows ? n - start : tile_rows;
        for (size_t c = 0; c < d; c++) {
            const double *restrict x = cols[c] + start;
            const double k = Kp[c];
            for (size_t r = 0; r < rows; r++)
                Z[r * Dp + c] = x[r] - k;
        }
        for (size_t r = 0; r < rows; r++) {
            Z[r * Dp + d] = y[start + r] - Kp[d];
            Z[r * Dp + d + 1] = 1.0;
        }
        const size_t rows4 = (rows + 3) & ~(size_t)3;
        for (size_t r = rows; r < rows4; r++)          /* zero rows add nothing */
            memset(Z + r * Dp, 0, Dz * sizeof(double));
        struct ahead pf = {NULL, 0, NULL, 0};           /* sequential columns: the hardware prefetches */
        TILE(Z, rows4, Dz, Dp, Sb, &pf);
        since_flush += rows;
        if (since_flush >= FLUSH_ROWS || start + rows == n) {
            for (size_t k = 0; k < Dp * Dp; k++) {
                St[k] += Sb[k];
                Sb[k] = 0.0;
            }
            since_flush = 0;
        }
    }
}

#undef PASS
#undef TILE
