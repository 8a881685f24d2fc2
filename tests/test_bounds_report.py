"""BoundReport: confidence split, choice of form, JSON, and the paper's numbers."""
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacbits.core import ConfigError
from pacbits.core.bounds import (catoni_bound, kl_bound, occam_kl_report, pac_bayes_report,
                                 stochastic_error_upper)


def test_exact_errors_split_epsilon_over_errors_and_forms():
    kl = occam_kl_report(51037)
    r = pac_bayes_report(kl, 60000, {"top-1": 0.002, "top-5": 0.0005}, confidence=0.95)
    eps = (1 - 0.95) / 4
    assert r.monte_carlo_delta == 0 and r.pac_bayes_delta == pytest.approx(0.05)
    for e in r.errors:
        assert e.eps == pytest.approx(eps)
        assert e.bounds["kl"] == kl_bound(e.used, kl.nats, 60000, e.eps)
        assert e.bounds["catoni"] == catoni_bound(e.used, kl.nats, 60000, e.eps).bound
        assert e.reported == min(e.bounds.values()) and e.form in ("kl", "catoni")
    assert r.bound == r.errors[0].reported
    assert r.errors[1].reported <= r.errors[0].reported


def test_monte_carlo_errors_take_their_share_of_delta():
    rates = np.array([0.011, 0.012, 0.010, 0.013])
    r = pac_bayes_report(1000.0, 60000, {"top-1": rates, "top-5": 0.001}, confidence=0.9, mc_share=0.5)
    assert r.monte_carlo_delta == pytest.approx(0.05) and r.pac_bayes_delta == pytest.approx(0.05)
    top1 = r.errors[0]
    assert top1.monte_carlo.delta == pytest.approx(0.05)  # the only sampled error gets all of delta'
    assert top1.used == stochastic_error_upper(rates, 0.05).upper > top1.empirical == pytest.approx(rates.mean())
    assert top1.eps == pytest.approx(0.05 / 4)
    assert "Monte Carlo" in r.statement and "0.9" in r.statement


def test_paper_table_1():
    """LeNet-5 (6.23 KiB, n = 60000) and MobileNet (350 KiB, n = 1281167; 65% / 87% train accuracy)."""
    lenet = pac_bayes_report(occam_kl_report(math.ceil(6.23 * 8192)), 60000, {"top-1": 0.002})
    assert lenet.bound < 0.46
    mobile = pac_bayes_report(occam_kl_report(350 * 8192), 1281167, {"top-1": 0.35, "top-5": 0.13})
    assert mobile.bound == pytest.approx(0.965, abs=0.001)
    assert mobile.to_dict()["top5_bound"] == pytest.approx(0.89, abs=0.001)


def test_vacuous_bounds_report_one_and_say_so():
    r = pac_bayes_report(occam_kl_report(10**9), 60000, {"top-1": 0.0})
    assert r.bound == 1.0 and r.errors[0].vacuous and "vacuous" in r.table()
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert d["bound"] == 1.0 and d["vacuous"] is True


@settings(max_examples=40, deadline=None)
@given(st.floats(0, 1e6), st.integers(1, 10**8), st.floats(0, 1), st.floats(0.5, 0.999),
       st.lists(st.floats(0, 1), min_size=1, max_size=5))
def test_reports_are_finite_valid_json(kl, n, top1, confidence, rates):
    r = pac_bayes_report(kl, n, {"top-1": top1, "mc": rates}, confidence)
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    for e in d["errors"]:
        assert e["used"] - 1e-15 <= e["reported"] <= 1
    assert r.pac_bayes_delta + r.monte_carlo_delta == pytest.approx(1 - confidence)
    assert "bound" in d and "top5_bound" not in d


@pytest.mark.parametrize("kwargs, name", [
    (dict(confidence=1.0), "confidence"), (dict(confidence=0.0), "confidence"), (dict(n=0), "n"),
    (dict(forms=("kl", "pinsker")), "forms"), (dict(forms=()), "forms"), (dict(errors={}), "errors"),
    (dict(errors={"top-1": 1.2}), "top-1"), (dict(errors={"top-1": [0.1, -0.1]}), "rates"),
    (dict(mc_share=1.0), "mc_share"), (dict(alpha=0.5), "alpha"),
])
def test_invalid_input_names_the_argument(kwargs, name):
    args = dict(kl=100.0, n=1000, errors={"top-1": 0.1})
    args.update(kwargs)
    with pytest.raises(ConfigError, match=name):
        pac_bayes_report(**args)
