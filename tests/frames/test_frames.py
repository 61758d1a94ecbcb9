"""jaxgal.frames against astropy (Galactocentric, Galactic, ICRS) and gala (GD1Koposov10).

Inputs are random (seeded numpy): Galactocentric positions with r log-uniform in 0.1–300 kpc
over the whole sphere, heliocentric distances log-uniform in 0.1–300 kpc all over the sky,
velocity components uniform in ±500 km/s.

Tolerances (all far above the ≈1e-13 deg / 1e-15 relative differences observed, and at or
below the project's 1e-9 requirement):

- ANGLE_TOL_DEG = 1e-10 deg on the latitude and on Δlongitude · cos(latitude) (an on-sky
  separation, so longitudes near a pole are not over-weighted);
- REL_TOL = 1e-11: distances relative to themselves; line-of-sight velocities relative to the
  heliocentric speed S = |v − v☉|; proper motions relative to S / (k d); Cartesian
  positions relative to |x| + 10 kpc and velocities relative to |v| + 300 km/s;
- round trips: ROUNDTRIP_TOL = 1e-12 with the same scales;
- GD-1 → ICRS against gala: gala inverts its (10-digit, orthogonal only to 6e-11) Koposov
  matrix by transposing it, jaxgal by exact inversion, so there the tolerance is
  GD1_INV_ANGLE_TOL_DEG = 1e-8 deg and GD1_INV_REL_TOL = 1e-9 (gala's own round trip is off by
  the same amount; a test checks that this is the only difference).
"""

import astropy.coordinates as coord
import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgal  # noqa: F401  (turns on float64)
from jaxgal import frames as F
from jaxgal.units import MASYR_KPC_TO_KMS as K

gala_coords = pytest.importorskip("gala.coordinates")

ANGLE_TOL_DEG = 1e-10
REL_TOL = 1e-11
ROUNDTRIP_TOL = 1e-12
GD1_INV_ANGLE_TOL_DEG = 1e-8
GD1_INV_REL_TOL = 1e-9

N = 400
N_SMALL = 12  # one size for the JAX-behaviour tests, so they share compilations
KMS = u.km / u.s
MASYR = u.mas / u.yr

CUSTOM_FRAMES = {
    "default": {},
    # solar parameters of published reflex fits
    "reflex_fit": dict(galcen_distance=8.3, z_sun=0.02, galcen_v_sun=(11.1, 244.24, 7.25)),
    # every parameter changed, including a Sun below the plane and a roll
    "all_params": dict(
        galcen_distance=7.9,
        z_sun=-0.035,
        galcen_v_sun=(-8.0, 230.0, -3.0),
        roll=4.0,
        galcen_ra=266.0,
        galcen_dec=-29.2,
    ),
}


def _astropy_frame(params):
    """The astropy Galactocentric frame with the same parameters (built independently)."""
    kw = {}
    if "galcen_distance" in params:
        kw["galcen_distance"] = params["galcen_distance"] * u.kpc
    if "z_sun" in params:
        kw["z_sun"] = params["z_sun"] * u.kpc
    if "galcen_v_sun" in params:
        kw["galcen_v_sun"] = coord.CartesianDifferential(np.array(params["galcen_v_sun"]) * KMS)
    if "roll" in params:
        kw["roll"] = params["roll"] * u.deg
    if "galcen_ra" in params:
        kw["galcen_coord"] = coord.ICRS(
            ra=params["galcen_ra"] * u.deg, dec=params["galcen_dec"] * u.deg
        )
    return coord.Galactocentric(**kw)


@pytest.fixture(params=list(CUSTOM_FRAMES), ids=list(CUSTOM_FRAMES))
def frames(request):
    params = CUSTOM_FRAMES[request.param]
    return F.GalactocentricFrame(**params), _astropy_frame(params)


def _gc_sample(seed=0, n=N):
    rng = np.random.default_rng(seed)
    r = 10 ** rng.uniform(-1, np.log10(300), n)
    ct = rng.uniform(-1, 1, n)
    ph = rng.uniform(0, 2 * np.pi, n)
    st = np.sqrt(1 - ct**2)
    x = np.stack([r * st * np.cos(ph), r * st * np.sin(ph), r * ct], -1)
    v = rng.uniform(-500, 500, (n, 3))
    return np.concatenate([x, v], -1)


def _helio_sample(seed=1, n=N):
    """lon [0, 360), lat, d [kpc], v_r [km/s], pm_lon*, pm_lat [mas/yr], all over the sky."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(0, 360, n)
    lat = np.rad2deg(np.arcsin(rng.uniform(-1, 1, n)))
    d = 10 ** rng.uniform(-1, np.log10(300), n)
    vr = rng.uniform(-500, 500, n)
    pm1 = rng.uniform(-500, 500, n) / (K * d)
    pm2 = rng.uniform(-500, 500, n) / (K * d)
    return lon, lat, d, vr, pm1, pm2


def _skycoord_gc(w, aframe):
    return coord.SkyCoord(
        x=w[:, 0] * u.kpc, y=w[:, 1] * u.kpc, z=w[:, 2] * u.kpc,
        v_x=w[:, 3] * KMS, v_y=w[:, 4] * KMS, v_z=w[:, 5] * KMS,
        frame=aframe,
    )  # fmt: skip


def _gc_array(sc):
    """(N, 6) Galactocentric array from an astropy SkyCoord/frame in Galactocentric."""
    x = sc.cartesian.xyz.to_value(u.kpc).T
    v = sc.velocity.d_xyz.to_value(KMS).T
    return np.concatenate([x, v], -1)


# --- comparison helpers -----------------------------------------------------------------


def assert_sky_close(lon, lat, lon_ref, lat_ref, tol=ANGLE_TOL_DEG):
    lon, lat = np.asarray(lon), np.asarray(lat)
    dlon = (lon - lon_ref + 180.0) % 360.0 - 180.0
    assert np.max(np.abs(lat - lat_ref)) <= tol, np.max(np.abs(lat - lat_ref))
    sep = np.abs(dlon) * np.cos(np.deg2rad(lat_ref))
    assert np.max(sep) <= tol, np.max(sep)


def assert_kinematics_close(d, vr, pm1, pm2, d_ref, vr_ref, pm1_ref, pm2_ref, rel=REL_TOL):
    d, vr, pm1, pm2 = map(np.asarray, (d, vr, pm1, pm2))
    speed = np.sqrt(vr_ref**2 + (K * d_ref) ** 2 * (pm1_ref**2 + pm2_ref**2))
    assert np.max(np.abs(d / d_ref - 1)) <= rel
    assert np.max(np.abs(vr - vr_ref) / speed) <= rel
    pm_scale = speed / (K * d_ref)
    assert np.max(np.abs(pm1 - pm1_ref) / pm_scale) <= rel
    assert np.max(np.abs(pm2 - pm2_ref) / pm_scale) <= rel


def assert_phase_space_close(w, w_ref, rel):
    w, w_ref = np.asarray(w), np.asarray(w_ref)
    assert w.shape == w_ref.shape
    dx = np.linalg.norm(w[..., :3] - w_ref[..., :3], axis=-1)
    dv = np.linalg.norm(w[..., 3:] - w_ref[..., 3:], axis=-1)
    assert np.max(dx / (np.linalg.norm(w_ref[..., :3], axis=-1) + 10.0)) <= rel
    assert np.max(dv / (np.linalg.norm(w_ref[..., 3:], axis=-1) + 300.0)) <= rel


# --- the frame and the constant matrices ---------------------------------------------------


def test_default_frame_is_astropys():
    frame = F.GalactocentricFrame()
    ref = F.GalactocentricFrame.from_astropy(coord.Galactocentric())
    for name in ("galcen_distance", "z_sun", "galcen_v_sun", "roll", "galcen_ra", "galcen_dec"):
        np.testing.assert_allclose(getattr(frame, name), getattr(ref, name), rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(frame.galcen_v_sun, [12.9, 245.6, 7.78], rtol=1e-15)
    assert float(frame.galcen_distance) == 8.122 and float(frame.z_sun) == 0.0208


def test_frame_matrix_and_sun_match_astropy(frames):
    frame, aframe = frames
    # Sun: the origin of ICRS seen from the Galactocentric frame
    zero_v = coord.CartesianDifferential([0, 0, 0] * KMS)
    origin = coord.ICRS(coord.CartesianRepresentation([0, 0, 0] * u.kpc, differentials=zero_v))
    sun = coord.SkyCoord(origin).transform_to(aframe)
    sun_x = sun.cartesian.xyz.to_value(u.kpc)
    np.testing.assert_allclose(frame.sun_position(), sun_x, rtol=0, atol=1e-13)
    np.testing.assert_allclose(frame.sun_velocity(), sun.velocity.d_xyz.to_value(KMS), atol=1e-12)
    # rotation: ICRS unit vectors (directions) mapped by astropy, minus the Sun's offset
    e = coord.SkyCoord(coord.ICRS(coord.CartesianRepresentation(np.eye(3) * u.kpc)))
    a_ref = e.transform_to(aframe).cartesian.xyz.to_value(u.kpc) - sun_x[:, None]
    np.testing.assert_allclose(frame.rotation(), a_ref, rtol=0, atol=1e-13)
    # and the round trip through the astropy frame object
    again = F.GalactocentricFrame.from_astropy(frame.to_astropy())
    np.testing.assert_allclose(again.rotation(), frame.rotation(), rtol=0, atol=1e-15)


def test_icrs_to_galactic_matrix_is_astropys():
    e = coord.SkyCoord(coord.ICRS(coord.CartesianRepresentation(np.eye(3) * u.kpc))).galactic
    m_ref = e.cartesian.xyz.to_value(u.kpc)  # column i = image of the ICRS unit vector i
    np.testing.assert_allclose(F.ICRS_TO_GALACTIC, m_ref, rtol=0, atol=1e-14)
    np.testing.assert_allclose(F.ICRS_TO_GALACTIC @ F.ICRS_TO_GALACTIC.T, np.eye(3), atol=1e-14)


def test_gd1_matrix_is_galas():
    e = coord.SkyCoord(coord.ICRS(coord.CartesianRepresentation(np.eye(3) * u.kpc))).transform_to(
        gala_coords.GD1Koposov10()
    )
    np.testing.assert_allclose(F.ICRS_TO_GD1, e.cartesian.xyz.to_value(u.kpc), rtol=0, atol=1e-15)


# --- Galactocentric -> heliocentric against astropy ------------------------------------------


def test_galactocentric_to_galactic(frames):
    frame, aframe = frames
    w = _gc_sample(0)
    g = _skycoord_gc(w, aframe).transform_to(coord.Galactic())
    out = F.galactocentric_to_galactic(w, frame)
    assert isinstance(out, F.GalacticCoords)
    assert_sky_close(out.l, out.b, g.l.deg, g.b.deg)
    assert_kinematics_close(
        out.distance, out.v_los, out.pm_l_cosb, out.pm_b,
        g.distance.to_value(u.kpc), g.radial_velocity.to_value(KMS),
        g.pm_l_cosb.to_value(MASYR), g.pm_b.to_value(MASYR),
    )  # fmt: skip
    lon = np.asarray(out.l)
    assert np.all((lon >= 0) & (lon < 360))


def test_galactocentric_to_icrs(frames):
    frame, aframe = frames
    w = _gc_sample(2)
    c = _skycoord_gc(w, aframe).transform_to(coord.ICRS())
    out = F.galactocentric_to_icrs(w, frame)
    assert_sky_close(out.ra, out.dec, c.ra.deg, c.dec.deg)
    assert_kinematics_close(
        out.distance, out.radial_velocity, out.pm_ra_cosdec, out.pm_dec,
        c.distance.to_value(u.kpc), c.radial_velocity.to_value(KMS),
        c.pm_ra_cosdec.to_value(MASYR), c.pm_dec.to_value(MASYR),
    )  # fmt: skip
    assert np.all((np.asarray(out.ra) >= 0) & (np.asarray(out.ra) < 360))


def test_galactic_to_galactocentric(frames):
    frame, aframe = frames
    l, b, d, vr, pml, pmb = _helio_sample(3)
    ref = coord.SkyCoord(
        l=l * u.deg, b=b * u.deg, distance=d * u.kpc, radial_velocity=vr * KMS,
        pm_l_cosb=pml * MASYR, pm_b=pmb * MASYR, frame="galactic",
    ).transform_to(aframe)  # fmt: skip
    w = F.galactic_to_galactocentric(l, b, d, vr, pml, pmb, frame=frame)
    assert w.shape == (N, 6)
    assert_phase_space_close(w, _gc_array(ref), REL_TOL)


def test_icrs_to_galactocentric(frames):
    frame, aframe = frames
    ra, dec, d, vr, pmra, pmdec = _helio_sample(4)
    ref = coord.SkyCoord(
        ra=ra * u.deg, dec=dec * u.deg, distance=d * u.kpc, radial_velocity=vr * KMS,
        pm_ra_cosdec=pmra * MASYR, pm_dec=pmdec * MASYR, frame="icrs",
    ).transform_to(aframe)  # fmt: skip
    w = F.icrs_to_galactocentric(ra, dec, d, vr, pmra, pmdec, frame=frame)
    assert_phase_space_close(w, _gc_array(ref), REL_TOL)


def test_galactic_icrs_heliocentric():
    l, b, d, vr, pml, pmb = _helio_sample(5)
    g = coord.SkyCoord(
        l=l * u.deg, b=b * u.deg, distance=d * u.kpc, radial_velocity=vr * KMS,
        pm_l_cosb=pml * MASYR, pm_b=pmb * MASYR, frame="galactic",
    )  # fmt: skip
    c = g.icrs
    out = F.galactic_to_icrs(l, b, d, vr, pml, pmb)
    assert_sky_close(out.ra, out.dec, c.ra.deg, c.dec.deg)
    assert_kinematics_close(
        out.distance, out.radial_velocity, out.pm_ra_cosdec, out.pm_dec,
        c.distance.to_value(u.kpc), c.radial_velocity.to_value(KMS),
        c.pm_ra_cosdec.to_value(MASYR), c.pm_dec.to_value(MASYR),
    )  # fmt: skip
    ra, dec = c.ra.deg, c.dec.deg
    pmra, pmdec = c.pm_ra_cosdec.to_value(MASYR), c.pm_dec.to_value(MASYR)
    back = F.icrs_to_galactic(ra, dec, d, vr, pmra, pmdec)
    gg = coord.SkyCoord(
        ra=ra * u.deg, dec=dec * u.deg, distance=d * u.kpc, radial_velocity=vr * KMS,
        pm_ra_cosdec=pmra * MASYR, pm_dec=pmdec * MASYR, frame="icrs",
    ).galactic  # fmt: skip
    assert_sky_close(back.l, back.b, gg.l.deg, gg.b.deg)
    assert_kinematics_close(
        back.distance, back.v_los, back.pm_l_cosb, back.pm_b,
        gg.distance.to_value(u.kpc), gg.radial_velocity.to_value(KMS),
        gg.pm_l_cosb.to_value(MASYR), gg.pm_b.to_value(MASYR),
    )  # fmt: skip


# --- GD-1 against gala ------------------------------------------------------------------


def test_icrs_to_gd1_matches_gala():
    ra, dec, d, vr, pmra, pmdec = _helio_sample(6)
    ref = coord.SkyCoord(
        ra=ra * u.deg, dec=dec * u.deg, distance=d * u.kpc, radial_velocity=vr * KMS,
        pm_ra_cosdec=pmra * MASYR, pm_dec=pmdec * MASYR,
    ).transform_to(gala_coords.GD1Koposov10())  # fmt: skip
    out = F.icrs_to_gd1(ra, dec, pmra, pmdec)
    assert_sky_close(out.phi1, out.phi2, ref.phi1.deg, ref.phi2.deg)
    assert_kinematics_close(
        ref.distance.to_value(u.kpc), ref.radial_velocity.to_value(KMS),
        out.pm_phi1_cosphi2, out.pm_phi2,
        ref.distance.to_value(u.kpc), ref.radial_velocity.to_value(KMS),
        ref.pm_phi1_cosphi2.to_value(MASYR), ref.pm_phi2.to_value(MASYR),
    )  # fmt: skip
    phi1 = np.asarray(out.phi1)
    assert np.all((phi1 > -180) & (phi1 <= 180))


def test_galactocentric_to_gd1_matches_gala(frames):
    frame, aframe = frames
    w = _gc_sample(7)
    ref = _skycoord_gc(w, aframe).transform_to(gala_coords.GD1Koposov10())
    out = F.galactocentric_to_gd1(w, frame)
    assert isinstance(out, F.GD1Coords)
    assert_sky_close(out.phi1, out.phi2, ref.phi1.deg, ref.phi2.deg)
    assert_kinematics_close(
        out.distance, out.radial_velocity, out.pm_phi1_cosphi2, out.pm_phi2,
        ref.distance.to_value(u.kpc), ref.radial_velocity.to_value(KMS),
        ref.pm_phi1_cosphi2.to_value(MASYR), ref.pm_phi2.to_value(MASYR),
    )  # fmt: skip


def test_gd1_inverse_matches_gala_to_its_matrix_precision():
    """GD-1 → ICRS/Galactocentric vs gala, which inverts its rounded matrix by transposing."""
    phi1, phi2, d, vr, pm1, pm2 = _helio_sample(8)
    phi1 = phi1 - 180.0
    src = coord.SkyCoord(
        phi1=phi1 * u.deg, phi2=phi2 * u.deg, distance=d * u.kpc, pm_phi1_cosphi2=pm1 * MASYR,
        pm_phi2=pm2 * MASYR, radial_velocity=vr * KMS, frame=gala_coords.GD1Koposov10(),
    )  # fmt: skip
    c = src.icrs
    out = F.gd1_to_icrs(phi1, phi2, pm1, pm2)
    assert_sky_close(out.ra, out.dec, c.ra.deg, c.dec.deg, tol=GD1_INV_ANGLE_TOL_DEG)
    assert_kinematics_close(
        c.distance.to_value(u.kpc), c.radial_velocity.to_value(KMS), out.pm_ra_cosdec, out.pm_dec,
        c.distance.to_value(u.kpc), c.radial_velocity.to_value(KMS),
        c.pm_ra_cosdec.to_value(MASYR), c.pm_dec.to_value(MASYR), rel=GD1_INV_REL_TOL,
    )  # fmt: skip
    w = F.gd1_to_galactocentric(phi1, phi2, d, pm1, pm2, vr)
    w_ref = _gc_array(src.transform_to(coord.Galactocentric()))
    assert_phase_space_close(w, w_ref, GD1_INV_REL_TOL)
    # ...and the difference is exactly gala's non-orthogonality: with its exact inverse
    # astropy agrees with jaxgal to round-off.
    x_gd1 = np.stack([np.cos(np.deg2rad(phi2)) * np.cos(np.deg2rad(phi1)),
                      np.cos(np.deg2rad(phi2)) * np.sin(np.deg2rad(phi1)),
                      np.sin(np.deg2rad(phi2))])  # fmt: skip
    exact = coord.SkyCoord(
        coord.ICRS(coord.CartesianRepresentation(np.linalg.inv(F.ICRS_TO_GD1) @ x_gd1 * u.kpc))
    )
    assert_sky_close(out.ra, out.dec, exact.ra.deg, exact.dec.deg)
    # gala's own round trip is off by the same order as our difference (so the looser
    # tolerance above is gala's, not ours)
    rt = src.icrs.transform_to(gala_coords.GD1Koposov10())
    gala_err = np.max(np.abs(rt.phi2.deg - phi2))
    assert 1e-11 < gala_err < GD1_INV_ANGLE_TOL_DEG


# --- round trips --------------------------------------------------------------------------


def test_round_trips(frames):
    frame, _ = frames
    w = _gc_sample(9)
    for fwd, inv in [
        (F.galactocentric_to_galactic, F.galactic_to_galactocentric),
        (F.galactocentric_to_icrs, F.icrs_to_galactocentric),
        (F.galactocentric_to_gd1, F.gd1_to_galactocentric),
    ]:
        assert_phase_space_close(inv(*fwd(w, frame), frame=frame), w, ROUNDTRIP_TOL)
    sph = _helio_sample(10)
    pairs = [(F.galactic_to_icrs, F.icrs_to_galactic), (F.icrs_to_galactic, F.galactic_to_icrs)]
    for fwd, inv in pairs:
        back = inv(*fwd(*sph))
        assert_sky_close(back[0], back[1], sph[0], sph[1], tol=1e-12)
        assert_kinematics_close(*back[2:], *sph[2:], rel=ROUNDTRIP_TOL)
    ra, dec, d, vr, pmra, pmdec = sph
    g = F.icrs_to_gd1(ra, dec, pmra, pmdec)
    back = F.gd1_to_icrs(*g)
    assert_sky_close(back.ra, back.dec, ra, dec, tol=1e-12)
    assert_kinematics_close(
        d, vr, back.pm_ra_cosdec, back.pm_dec, d, vr, pmra, pmdec, rel=ROUNDTRIP_TOL
    )
    vg = F.v_los_to_v_gsr(ra, dec, vr, frame)
    np.testing.assert_allclose(F.v_gsr_to_v_los(ra, dec, vg, frame), vr, rtol=0, atol=1e-12 * 500)


# --- v_GSR and v_t,b ----------------------------------------------------------------------


def _astropy_vgsr_vtb(w, aframe):
    """Independent astropy computation: the Galactocentric velocity expressed in Galactic
    axes (heliocentric velocity + the Sun's velocity, the latter from a body at rest at the
    Galactic centre) dotted with astropy's spherical unit vectors at the star."""
    g = _skycoord_gc(w, aframe).galactic
    v_helio = g.velocity.d_xyz.to_value(KMS)  # (3, N), Galactic axes
    rest = coord.SkyCoord(
        x=0 * u.kpc, y=0 * u.kpc, z=0 * u.kpc, v_x=0 * KMS, v_y=0 * KMS, v_z=0 * KMS, frame=aframe
    ).galactic
    v_sun_gal = -rest.velocity.d_xyz.to_value(KMS)
    v_gc_gal = v_helio + v_sun_gal[:, None]
    units = g.represent_as(coord.SphericalRepresentation).unit_vectors()
    e_r = units["distance"].xyz.value
    e_b = units["lat"].xyz.value
    return np.sum(v_gc_gal * e_r, 0), np.sum(v_gc_gal * e_b, 0), g, v_sun_gal


def test_v_gsr_and_v_tb_match_astropy(frames):
    frame, aframe = frames
    w = _gc_sample(11)
    vgsr_ref, vtb_ref, g, _ = _astropy_vgsr_vtb(w, aframe)
    scale = np.linalg.norm(w[:, 3:], axis=-1) + 300.0
    assert np.max(np.abs(np.asarray(F.v_gsr(w, frame)) - vgsr_ref) / scale) <= REL_TOL
    assert np.max(np.abs(np.asarray(F.v_tb(w, frame)) - vtb_ref) / scale) <= REL_TOL
    # v_GSR from the heliocentric line-of-sight velocity (no distance needed)
    vg = F.v_los_to_v_gsr(g.l.deg, g.b.deg, g.radial_velocity.to_value(KMS), frame)
    assert np.max(np.abs(np.asarray(vg) - vgsr_ref) / scale) <= REL_TOL


def test_v_gsr_direct_definition():
    """v_GSR = v·(x − x☉)/|x − x☉| with the Sun placed by astropy (v☉ is not (U, V, W) in
    Galactic axes exactly: the Galactocentric axes are tilted by z☉ and ψ₀)."""
    aframe = coord.Galactocentric()
    w = _gc_sample(12)
    origin = coord.ICRS(coord.CartesianRepresentation([0, 0, 0] * u.kpc))
    sun = coord.SkyCoord(origin).transform_to(aframe)
    n = w[:, :3] - sun.cartesian.xyz.to_value(u.kpc)
    ref = np.sum(w[:, 3:] * n, -1) / np.linalg.norm(n, axis=-1)
    np.testing.assert_allclose(F.v_gsr(w), ref, rtol=0, atol=1e-11 * 800)


# --- JAX behaviour: jit, vmap, batch shapes, gradients ------------------------------------


def test_jit_equals_eager_and_vmap():
    """A Galactocentric -> sky and a sky -> Galactocentric path (the other public functions
    share their cores): jax.jit of the whole function, jax.vmap over stars, and, for the
    second, jax.disable_jit (every primitive run one by one) all agree."""
    w = _gc_sample(13, N_SMALL)
    frame = F.GalactocentricFrame(8.3, 0.02, (11.1, 244.24, 7.25))
    plain = F.galactocentric_to_gd1(w, frame)
    jitted = jax.jit(F.galactocentric_to_gd1)(w, frame)
    vmapped = jax.vmap(F.galactocentric_to_gd1, in_axes=(0, None))(w, frame)
    assert isinstance(jitted, F.GD1Coords) and isinstance(vmapped, F.GD1Coords)
    for a, b, c in zip(jitted, plain, vmapped):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-12)
        np.testing.assert_allclose(c, b, rtol=1e-13, atol=1e-12)
    sph = _helio_sample(14, N_SMALL)
    jitted = jax.jit(F.galactic_to_galactocentric)(*sph, frame=frame)
    with jax.disable_jit():
        eager = F.galactic_to_galactocentric(*sph, frame=frame)
    vmapped = jax.vmap(lambda *a: F.galactic_to_galactocentric(*a, frame=frame))(
        *map(jnp.asarray, sph)
    )
    np.testing.assert_allclose(jitted, eager, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(vmapped, eager, rtol=1e-13, atol=1e-12)


def test_vmap_over_solar_parameters():
    w = _gc_sample(15, N_SMALL)
    r0s = jnp.array([7.9, 8.122, 8.3])
    def l_of(r0):
        return F.galactocentric_to_galactic(w, F.GalactocentricFrame(galcen_distance=r0)).l

    out = jax.vmap(l_of)(r0s)
    for i, r0 in enumerate(np.asarray(r0s)):
        ref = F.galactocentric_to_galactic(w, F.GalactocentricFrame(float(r0))).l
        np.testing.assert_allclose(out[i], ref, rtol=1e-14)


@pytest.mark.parametrize("shape", [(), (N_SMALL,), (3, 4)])
def test_batch_shapes(shape):
    n = int(np.prod(shape))
    w = _gc_sample(16, n).reshape(shape + (6,))
    flat = F.galactocentric_to_galactic(w.reshape(-1, 6))
    out = F.galactocentric_to_galactic(w)
    for a, b in zip(out, flat):
        assert a.shape == shape
        np.testing.assert_array_equal(np.asarray(a).reshape(-1), b)
    back = F.galactic_to_galactocentric(*out)
    assert back.shape == shape + (6,)
    assert F.v_gsr(w).shape == shape


def test_gradient_wrt_solar_parameters_matches_astropy_finite_difference():
    """d l / d R☉ by autodiff vs a central difference of astropy."""
    w = _gc_sample(17, N_SMALL)

    def l_of(r0):
        return F.galactocentric_to_galactic(w, F.GalactocentricFrame(galcen_distance=r0)).l

    def astropy_l(r0):
        return _skycoord_gc(w, coord.Galactocentric(galcen_distance=r0 * u.kpc)).galactic.l.deg

    h = 1e-4
    fd = (astropy_l(8.122 + h) - astropy_l(8.122 - h)) / (2 * h)
    ad = jax.jacfwd(l_of)(jnp.asarray(8.122))
    np.testing.assert_allclose(ad, fd, rtol=1e-6, atol=1e-9)


# --- boundary: Quantities, dtypes and bad input -------------------------------------------


def test_quantity_inputs():
    l, b, d, vr, pml, pmb = _helio_sample(18, N_SMALL)
    plain = F.galactic_to_galactocentric(l, b, d, vr, pml, pmb)
    q = F.galactic_to_galactocentric(
        np.deg2rad(l) * u.rad, b * u.deg, d * 1e3 * u.pc, vr * 1e3 * u.m / u.s,
        pml * MASYR, pmb * 1e-3 * u.arcsec / u.yr,
    )
    np.testing.assert_allclose(q, plain, rtol=1e-13, atol=1e-12)
    fq = F.GalactocentricFrame(8300 * u.pc, 20 * u.pc, [11.1, 244.24, 7.25] * KMS, roll=0 * u.deg)
    fp = F.GalactocentricFrame(8.3, 0.02, (11.1, 244.24, 7.25))
    np.testing.assert_allclose(fq.rotation(), fp.rotation(), rtol=0, atol=1e-15)
    np.testing.assert_allclose(fq.sun_position(), fp.sun_position(), rtol=1e-15)
    fd = F.GalactocentricFrame(8.3, 0.02, coord.CartesianDifferential([11.1, 244.24, 7.25] * KMS))
    np.testing.assert_array_equal(fd.galcen_v_sun, fp.galcen_v_sun)
    # an astropy frame is accepted as `frame`
    w = _gc_sample(19, N_SMALL)
    np.testing.assert_array_equal(
        F.v_gsr(w, coord.Galactocentric(galcen_distance=8.3 * u.kpc)),
        F.v_gsr(w, F.GalactocentricFrame(8.3)),
    )


def test_float32_input_stays_float32():
    w = _gc_sample(20, N_SMALL).astype(np.float32)
    out = F.galactocentric_to_galactic(w)
    assert out.l.dtype == jnp.float32
    ref = F.galactocentric_to_galactic(w.astype(np.float64)).l
    np.testing.assert_allclose(out.l, ref, atol=1e-3)


def test_longitude_wrapping_edges():
    from jaxgal.frames._spherical import wrap_180, wrap_360

    lon = jnp.array([-1e-20, -0.0, 0.0, 180.0, -180.0, 359.0])
    np.testing.assert_array_equal(wrap_360(lon), [0.0, 0.0, 0.0, 180.0, 180.0, 359.0])
    lon = jnp.array([-180.0, 180.0, -179.0])
    np.testing.assert_array_equal(wrap_180(lon), [180.0, 180.0, -179.0])
    # a star on the l = 0 axis comes back with l in [0, 360)
    out = F.icrs_to_galactic(*F.galactic_to_icrs(0.0, 0.0, 1.0, 0.0, 0.0, 0.0))
    assert 0.0 <= float(out.l) < 360.0 and min(float(out.l), 360.0 - float(out.l)) < 1e-12


def test_bad_input_raises():
    with pytest.raises(ValueError, match=r"\(\.\.\., 6\)"):
        F.galactocentric_to_galactic(np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"\(\.\.\., 6\)"):
        F.v_gsr(np.float64(1.0))
    with pytest.raises(ValueError, match="Quantity"):
        F.galactocentric_to_icrs(np.zeros((2, 6)) * u.kpc)
    with pytest.raises(ValueError, match="broadcast"):
        F.galactic_to_galactocentric(np.zeros(3), np.zeros(4), 1.0, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="galcen_distance"):
        F.GalactocentricFrame(galcen_distance=-1.0)
    with pytest.raises(ValueError, match="z_sun"):
        F.GalactocentricFrame(galcen_distance=1.0, z_sun=2.0)
    with pytest.raises(ValueError, match="galcen_v_sun"):
        F.GalactocentricFrame(galcen_v_sun=(1.0, 2.0))
    with pytest.raises(TypeError, match="GalactocentricFrame"):
        F.v_gsr(np.zeros(6), frame="icrs")
