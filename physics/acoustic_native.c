/*
 * Forward-only time loop of the 2D acoustic propagator in C (OpenMP over
 * shots and rows), for CPU runs that need no gradient.
 *
 * Same scheme and numbers as physics/acoustic_step.py (leapfrog, centred
 * differences of order 2 * HALF, C-PML of Pasalic & McGarry 2010; see that
 * module's docstring for the equations). Compiled at first use by
 * physics/acoustic_native.py with -DREAL=float|double -DHALF=1..4, so the
 * stencil loops have constant trip counts and the compiler can unroll and
 * vectorise them.
 *
 * Layout (row-major, the same as the torch path): wavefields and C-PML memory
 * variables are (n_shots, nz, nx) over the padded domain (model + PML + a ring
 * of HALF cells), allocated here with calloc, so that the pages of psi and
 * zeta outside the PML are never touched; the ring of u stays zero (with a free surface the top ring
 * holds the odd mirror of the first rows before each step). Profiles a, b, db
 * have the padded length along their axis and are zero outside the PML (and
 * db outside its HALF-cell margin), so one formula holds everywhere; rows and
 * column spans flagged "plain" skip the C-PML terms, which are zero there.
 */
#include <stdint.h>
#include <stdlib.h>

#ifndef REAL
#define REAL float
#endif
#ifndef HALF
#define HALF 2
#endif

typedef struct {
    int64_t nz, nx;                      /* padded shape */
    const REAL *az, *bz, *dbz;           /* (nz) */
    const REAL *ax, *bx, *dbx;           /* (nx) */
    const REAL *d1z, *d2z, *d1x, *d2x;   /* stencil weights with 1/h, 1/h^2: [HALF], [HALF + 1] */
} Geometry;

/* New u (into up, in place), psi (into psi_*_new) and zeta (in place) for
 * columns [x0, x1) of padded row pz of one shot (pointers at the shot's
 * field). z_pml / x_pml are constants at every call site, so each combination
 * compiles to its own vectorised loop. */
static inline __attribute__((always_inline)) void row_span(
    const Geometry *restrict g, const REAL *restrict V, const REAL *restrict u,
    REAL *restrict up, const REAL *restrict psi_z, REAL *restrict psi_z_new,
    REAL *restrict zeta_z, const REAL *restrict psi_x, REAL *restrict psi_x_new,
    REAL *restrict zeta_x, int64_t pz, int64_t x0, int64_t x1, int z_pml, int x_pml)
{
    const int64_t nx = g->nx;
    /* coefficients and the row's z profile in locals: loads the loop need not repeat */
    REAL d2z[HALF + 1], d2x[HALF + 1], d1z[HALF], d1x[HALF], az_up[HALF], az_down[HALF];
    for (int k = 0; k <= HALF; ++k) {
        d2z[k] = g->d2z[k];
        d2x[k] = g->d2x[k];
    }
    for (int k = 0; k < HALF; ++k) {
        d1z[k] = g->d1z[k];
        d1x[k] = g->d1x[k];
        az_up[k] = g->az[pz + k + 1];
        az_down[k] = g->az[pz - k - 1];
    }
    const REAL az = g->az[pz], bz = g->bz[pz], dbz = g->dbz[pz];
    const REAL *restrict ax = g->ax, *restrict bx = g->bx, *restrict dbx = g->dbx;
    const REAL *restrict V_row = V + (pz - HALF) * (nx - 2 * HALF) - HALF;
    const int64_t row = pz * nx;
#pragma GCC ivdep
    for (int64_t px = x0; px < x1; ++px) {
        const int64_t c = row + px;
        REAL lz = d2z[0] * u[c], lx = d2x[0] * u[c];
        for (int k = 1; k <= HALF; ++k) {
            lz += d2z[k] * (u[c + k * nx] + u[c - k * nx]);
            lx += d2x[k] * (u[c + k] + u[c - k]);
        }
        REAL w;
        if (z_pml) {
            REAL d1 = 0, dapsi = 0;
            for (int k = 1; k <= HALF; ++k) {
                d1 += d1z[k - 1] * (u[c + k * nx] - u[c - k * nx]);
                dapsi += d1z[k - 1] * (az_up[k - 1] * psi_z[c + k * nx]
                                       - az_down[k - 1] * psi_z[c - k * nx]);
            }
            const REAL tmp = (1 + bz) * lz + dbz * d1 + dapsi;
            w = (1 + bz) * tmp + az * zeta_z[c];
            psi_z_new[c] = bz * d1 + az * psi_z[c];
            zeta_z[c] = bz * tmp + az * zeta_z[c];
        } else {
            w = lz;
        }
        if (x_pml) {
            const REAL a = ax[px], b = bx[px];
            REAL d1 = 0, dapsi = 0;
            for (int k = 1; k <= HALF; ++k) {
                d1 += d1x[k - 1] * (u[c + k] - u[c - k]);
                dapsi += d1x[k - 1] * (ax[px + k] * psi_x[c + k] - ax[px - k] * psi_x[c - k]);
            }
            const REAL tmp = (1 + b) * lx + dbx[px] * d1 + dapsi;
            w += (1 + b) * tmp + a * zeta_x[c];
            psi_x_new[c] = b * d1 + a * psi_x[c];
            zeta_x[c] = b * tmp + a * zeta_x[c];
        } else {
            w += lx;
        }
        up[c] = V_row[px] * w + 2 * u[c] - up[c];
    }
}

/* One shot's state: pointers at its fields (swapped every step). */
typedef struct {
    REAL *u, *up, *psi_z, *psi_z_new, *zeta_z, *psi_x, *psi_x_new, *zeta_x;
} Shot;

/* Rows [pz0, pz1) of one step of one shot, span by span. */
static void step_rows(const Geometry *g, const REAL *V, const Shot *f, int64_t pz0, int64_t pz1,
                      const uint8_t *row_pml, int64_t n_spans, const int64_t *span_start,
                      const int64_t *span_stop, const uint8_t *span_pml)
{
    for (int64_t pz = pz0; pz < pz1; ++pz) {
        for (int64_t i = 0; i < n_spans; ++i) {
            const int64_t x0 = span_start[i] + HALF, x1 = span_stop[i] + HALF;
#define SPAN(Z, X) row_span(g, V, f->u, f->up, f->psi_z, f->psi_z_new, f->zeta_z, f->psi_x, \
                            f->psi_x_new, f->zeta_x, pz, x0, x1, Z, X)
            if (row_pml[pz] && span_pml[i]) SPAN(1, 1);
            else if (row_pml[pz]) SPAN(1, 0);
            else if (span_pml[i]) SPAN(0, 1);
            else SPAN(0, 0);
#undef SPAN
        }
    }
}

/* Before a step: record the receivers at step j and, with a free surface,
 * write the odd image above the top edge (read by the z stencil). */
static void before_step(const Shot *f, int64_t nx, int free_surface, int64_t j,
                        int64_t n_receivers, const int64_t *receivers, REAL *records)
{
    for (int64_t r = 0; r < n_receivers; ++r)
        records[j * n_receivers + r] = f->u[receivers[r]];
    if (free_surface)
        for (int k = 0; k < HALF; ++k)
            for (int64_t x = 0; x < nx; ++x)
                f->u[k * nx + x] = -f->u[(2 * HALF - 1 - k) * nx + x];
}

static void swap(REAL **a, REAL **b) { REAL *t = *a; *a = *b; *b = t; }

/* After a step: add the source, make the new state current. */
static void after_step(Shot *f, int64_t source, REAL increment)
{
    f->up[source] += increment;
    swap(&f->u, &f->up);
    swap(&f->psi_z, &f->psi_z_new);
    swap(&f->psi_x, &f->psi_x_new);
}

/*
 * Propagate n_steps from rest and record the receivers: records[s, j, r] =
 * u[s, receiver_index[s, r]] before step j (written step by step, one shot's
 * block contiguous); increments[j, s] is added at source_index[s] after step
 * j. row_pml (nz) flags rows with C-PML along z; column spans [span_start[i],
 * span_stop[i]) with span_pml[i] along x cover the interior columns.
 * Returns 0, or 1 if the wavefields could not be allocated.
 *
 * With at least as many shots as threads, each thread runs whole shots from
 * the first step to the last, as Deepwave does: a shot's fields stay in its
 * core's cache. With fewer shots the rows of each step are shared out.
 */
int propagate(int64_t n_shots, int64_t nz, int64_t nx, int free_surface,
              int64_t n_steps, int n_threads,
              const REAL *V, const REAL *az, const REAL *bz, const REAL *dbz,
              const REAL *ax, const REAL *bx, const REAL *dbx,
              const REAL *d1z, const REAL *d2z, const REAL *d1x, const REAL *d2x,
              const uint8_t *row_pml, int64_t n_spans, const int64_t *span_start,
              const int64_t *span_stop, const uint8_t *span_pml,
              const int64_t *source_index, const REAL *increments,
              int64_t n_receivers, const int64_t *receiver_index, REAL *records)
{
    /* u, up, psi_z, psi_z_next, zeta_z, psi_x, psi_x_next, zeta_x */
    const int64_t field = nz * nx;
    REAL *memory = calloc((size_t)(8 * n_shots * field), sizeof(REAL));
    if (memory == NULL)
        return 1;
    REAL *u = memory, *up = u + n_shots * field, *psi_z = up + n_shots * field;
    REAL *psi_z_next = psi_z + n_shots * field, *zeta_z = psi_z_next + n_shots * field;
    REAL *psi_x = zeta_z + n_shots * field, *psi_x_next = psi_x + n_shots * field;
    REAL *zeta_x = psi_x_next + n_shots * field;
    const Geometry g = {nz, nx, az, bz, dbz, ax, bx, dbx, d1z, d2z, d1x, d2x};
#define SHOT(s) {u + (s) * field, up + (s) * field, psi_z + (s) * field, \
                 psi_z_next + (s) * field, zeta_z + (s) * field, psi_x + (s) * field, \
                 psi_x_next + (s) * field, zeta_x + (s) * field}
#define ARGS(s) nx, free_surface, j, n_receivers, receiver_index + (s) * n_receivers, \
                records + (s) * n_steps * n_receivers
    if (n_shots >= n_threads) {
        #pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
        for (int64_t s = 0; s < n_shots; ++s) {
            Shot f = SHOT(s);
            for (int64_t j = 0; j < n_steps; ++j) {
                before_step(&f, ARGS(s));
                step_rows(&g, V, &f, HALF, nz - HALF, row_pml, n_spans, span_start, span_stop,
                          span_pml);
                after_step(&f, source_index[s], increments[j * n_shots + s]);
            }
        }
    } else {
        Shot shots[n_shots];
        for (int64_t s = 0; s < n_shots; ++s) {
            Shot f = SHOT(s);
            shots[s] = f;
        }
        for (int64_t j = 0; j < n_steps; ++j) {
            for (int64_t s = 0; s < n_shots; ++s)
                before_step(&shots[s], ARGS(s));
            #pragma omp parallel for collapse(2) schedule(static) num_threads(n_threads)
            for (int64_t s = 0; s < n_shots; ++s)
                for (int64_t pz = HALF; pz < nz - HALF; ++pz)
                    step_rows(&g, V, &shots[s], pz, pz + 1, row_pml, n_spans, span_start,
                              span_stop, span_pml);
            for (int64_t s = 0; s < n_shots; ++s)
                after_step(&shots[s], source_index[s], increments[j * n_shots + s]);
        }
    }
#undef SHOT
#undef ARGS
    free(memory);
    return 0;
}
