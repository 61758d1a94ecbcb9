"""What sets GD-1's a_φ in jaxgal's paper-model fits (docs/streams.md, "a_φ").

1. Fits the paper's track model (K = 5, no distance systematic, as gd1_i21 / gd1_paper
   otherwise) to the pseudo-members with I21 and with I24 radial velocities, and regresses,
   within each posterior, a_φ at φ1 = −19° on the φ1-slopes of the fitted v_GSR and |v| tracks
   there (the sensitivities ∂a_φ/∂(dv_GSR/dφ1), ∂a_φ/∂(d|v|/dφ1) and the R² of the fits).
2. Predicts the a_φ difference between the two fits from the speed-slope difference, to
   compare with the fitted difference; the published tracks' v_GSR slopes are read directly
   (galstreams GD-1-I21 and GD-1-I24, converted to v_GSR).
3. Splits a_φ exactly into the part along the velocity, (a·v̂) v̂_φ with a·v̂ = s |v| / |dx/dφ1| ·
   d|v|/dφ1 (the speed gradient: for an orbit, d(|v|²/2) = −dΦ), and the part perpendicular
   to it (the bending of the velocity), along the track; and compares the fitted speed slope
   with the slope that energy conservation in MWPotential2014 implies on the same track,
   d|v|/dφ1 = s (a_MW · v̂) |dx/dφ1| / |v|.
4. Fits v_GSR to the 43 Bonaca et al. (2020) Hectochelle members alone (φ1 ∈ [−46°, −29°];
   the only real radial velocities available offline), and compares their v_GSR slope at
   φ1 = −37.5° with the two published tracks' slopes there.

Run: python docs/streams/aphi_study.py  [writes docs/streams/aphi_study.json]
"""

import json
import os

import jax
import numpy as np

import jaxgal as jg
from jaxgal import streams as st
from jaxgal import units as U

U_CONV = U.KMS_TO_KPC_MYR  # (km/s)²/kpc → km/s/Myr

N = dict(n_knots=(5,), n_chains=4, n_warmup=300, n_samples=500)
PHI_REF = -19.0
PHI_B = -37.5
GRID = np.linspace(-75.0, -12.0, 15)


def track_vgsr_slope(name, phi1):
    """dv_GSR/dφ1 [km/s/deg] of a galstreams track at phi1 (central differences, ±2°)."""
    tr = st.load_gd1_track(name)
    tr_i21 = st.load_gd1_track("i21")

    def vgsr(p):
        p2 = np.interp(p, tr_i21["phi1"], tr_i21["phi2"])
        vr = np.interp(p, tr["phi1"], tr["radial_velocity"])
        w = jg.frames.gd1_to_galactocentric(p, p2, 1.0, 0.0, 0.0, vr)
        return float(jg.frames.v_gsr(np.asarray(w)))

    return (vgsr(phi1 + 2.0) - vgsr(phi1 - 2.0)) / 4.0


def split(post):
    """Median along-velocity and perpendicular parts of a_φ and the speed slopes (fitted, and
    implied by MWPotential2014's energy conservation) at GRID and at PHI_REF."""
    phi1 = np.append(GRID, PHI_REF)
    w, dw = post.phase_space(phi1)
    a = st.accelerations(post, phi1, cartesian=True)
    x, v, dx = w[..., :3], w[..., 3:], dw[..., :3]
    speed = np.linalg.norm(v, axis=-1)
    vhat = v / speed[..., None]
    R = np.hypot(x[..., 0], x[..., 1])
    phihat = np.stack([-x[..., 1] / R, x[..., 0] / R, np.zeros_like(R)], -1)
    a_par = np.sum(a * vhat, -1)
    along = a_par * np.sum(vhat * phihat, -1)
    total = np.sum(a * phihat, -1)
    s = np.sign(np.sum(v * dx, -1))
    mw = np.asarray(jg.potentials.MWPotential2014().acceleration(x.reshape(-1, 3))).reshape(a.shape)
    slope_mw = s * np.sum(mw * vhat, -1) / U_CONV * np.linalg.norm(dx, axis=-1) / speed
    slope_fit = post.observables(phi1, 1)["speed"]
    med = lambda q: np.median(q, 0).round(3).tolist()  # noqa: E731
    return dict(phi1=phi1.tolist(), a_phi=med(total), along_velocity=med(along), perpendicular=med(total - along),
                speed_slope_fit=med(slope_fit), speed_slope_mwpotential2014=med(slope_mw))


def fit(data, dist, key=0, **kw):
    return st.fit_track(jax.random.key(key), data, distance_track=dist, **N, **kw)


def main():
    dist = st.gd1_distance_track(scale_sigma=0.0)
    out = {}
    for rv in ("i21", "i24"):
        data = st.gd1_track_members(seed=0, rv_phi1_range=(-85.0, -5.0), rv_track=rv)
        post = fit(data, dist)
        a_both = st.accelerations(post, [PHI_REF, PHI_B])
        a = a_both[:, 0]
        d1 = post.observables([PHI_REF], 1)
        X = np.stack([d1["v_gsr"][:, 0], d1["speed"][:, 0], np.ones(len(a))], 1)
        coef, *_ = np.linalg.lstsq(X, a[:, 1], rcond=None)
        r2 = 1.0 - np.var(a[:, 1] - X @ coef) / np.var(a[:, 1])
        only_v = np.polyfit(d1["v_gsr"][:, 0], a[:, 1], 1)
        r2_v = np.corrcoef(d1["v_gsr"][:, 0], a[:, 1])[0, 1] ** 2
        out[rv] = dict(
            a_phi=float(np.median(a[:, 1])), a_phi_sd=float(np.std(a[:, 1])),
            vgsr_slope_fit=float(np.median(d1["v_gsr"][:, 0])), vgsr_slope_fit_sd=float(np.std(d1["v_gsr"][:, 0])),
            speed_slope_fit=float(np.median(d1["speed"][:, 0])),
            vgsr_slope_track=track_vgsr_slope(rv, PHI_REF),
            dadphi_per_vgsr_slope=float(coef[0]), dadphi_per_speed_slope=float(coef[1]), r2_both=float(r2),
            dadphi_per_vgsr_slope_alone=float(only_v[0]), r2_vgsr_alone=float(r2_v),
            vgsr_slope_track_at_b=track_vgsr_slope(rv, PHI_B),
            a_phi_at_b=[float(np.median(a_both[:, 1, 1])), float(np.std(a_both[:, 1, 1]))],
            split=split(post),
        )
    d_speed = out["i24"]["speed_slope_fit"] - out["i21"]["speed_slope_fit"]
    i_ref = -1  # PHI_REF is the last point of split()
    out["prediction"] = dict(
        delta_speed_slope=d_speed,
        predicted_delta_a_phi_from_speed_slope=[out[rv]["dadphi_per_speed_slope"] * d_speed for rv in ("i21", "i24")],
        delta_along_velocity=out["i24"]["split"]["along_velocity"][i_ref] - out["i21"]["split"]["along_velocity"][i_ref],
        delta_perpendicular=out["i24"]["split"]["perpendicular"][i_ref] - out["i21"]["split"]["perpendicular"][i_ref],
        fitted_delta_a_phi=out["i24"]["a_phi"] - out["i21"]["a_phi"],
        speed_slope_precision_for_0p1=[0.1 / abs(out[rv]["dadphi_per_speed_slope"]) for rv in ("i21", "i24")])

    # the 43 real members alone for v_GSR and |v| (pseudo-members keep φ2 only)
    pseudo = st.gd1_track_members(seed=0, rv_phi1_range=(-85.0, -5.0), rv_track="i24")
    y = pseudo.y.copy()
    y[:, 4] = np.nan
    e = pseudo.y_err.copy()
    e[:, 4] = np.nan
    real = st.concatenate(st.StreamData(pseudo.phi1, y, e), st.load_bonaca2020_members())
    post = fit(real, dist, key=1)
    d1 = post.observables([PHI_B], 1)
    a = st.accelerations(post, [PHI_B])[:, 0]
    out["bonaca_only"] = dict(
        phi1=PHI_B, n_rv=int(np.isfinite(real.column("radial_velocity")).sum()),
        vgsr_slope=float(np.median(d1["v_gsr"][:, 0])), vgsr_slope_sd=float(np.std(d1["v_gsr"][:, 0])),
        a_phi=float(np.median(a[:, 1])), a_phi_lo68=float(np.percentile(a[:, 1], 16)),
        a_phi_hi68=float(np.percentile(a[:, 1], 84)),
        track_slopes={rv: out[rv]["vgsr_slope_track_at_b"] for rv in ("i21", "i24")})
    print(json.dumps(out, indent=1))
    with open(os.path.join(os.path.dirname(__file__), "aphi_study.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
