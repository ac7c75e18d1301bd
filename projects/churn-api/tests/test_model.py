"""Model behaviour: the compiled engine equals XGBoost, the threshold follows the business costs,
and predictions respond to the inputs the way the domain says they should."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from churn_api.business import campaign_profit, choose_threshold
from churn_api.config import BusinessConfig
from churn_api.data import Customers
from churn_api.engine import ScoringEngine, xgboost_field_contributions
from churn_api.models import ChurnModel, build_calibrated
from churn_api.predictor import ChurnPredictor
from churn_api.scoring import XGBoostScorer, select_scorer
from churn_api.train import TrainResult, verify_scorers
from mlshared.console import UserError

pytestmark = pytest.mark.slow  # needs the session's trained model


def test_engine_reproduces_xgboost_probabilities_and_shap(predictor: ChurnPredictor, customers: Customers) -> None:
    X = customers.X
    explained = ScoringEngine.from_model(predictor.model).explain_frame(X)
    np.testing.assert_allclose(explained.probability, predictor.model.predict_proba(X)[:, 1], atol=1e-6)
    reference, bias = xgboost_field_contributions(predictor.model, X)
    np.testing.assert_allclose(explained.contributions, reference, atol=1e-4)
    # SHAP additivity: the contributions and the bias add up to the margin of every customer.
    np.testing.assert_allclose(explained.contributions.sum(axis=1) + bias, explained.margin, atol=1e-4)


def test_xgboost_path_equals_the_engine_and_the_model(predictor: ChurnPredictor, customers: Customers) -> None:
    """The library path (XGBoost's own pred_contribs) and the compiled engine give the same answers."""
    X = customers.X
    library = XGBoostScorer.from_model(predictor.model).explain_frame(X)
    engine = ScoringEngine.from_model(predictor.model).explain_frame(X)
    np.testing.assert_allclose(library.probability, predictor.model.predict_proba(X)[:, 1], atol=1e-6)
    np.testing.assert_allclose(library.contributions, engine.contributions, atol=1e-4)
    np.testing.assert_allclose(library.margin, engine.margin, atol=1e-4)
    forced = ChurnPredictor(predictor.model, "test", scoring="xgboost")
    customer = {str(k): v for k, v in X.iloc[0].to_dict().items()}
    assert forced.scorer.name == "xgboost" and predictor.scorer.name == "engine"
    a, b = forced.predict_one(customer), predictor.predict_one(customer)
    assert a.probability == pytest.approx(b.probability, abs=1e-6)
    assert [r.field for r in a.reasons] == [r.field for r in b.reasons]


@pytest.fixture(scope="module")
def deep_model(customers: Customers) -> ChurnModel:
    """A depth-6 model, as a forker's first change makes: too deep for the compiled engine."""
    params = {"n_estimators": 60, "max_depth": 6, "learning_rate": 0.1, "tree_method": "hist"}
    estimator = build_calibrated(params, "sigmoid", inner_folds=3, seed=0, n_jobs=1)
    return ChurnModel(estimator, threshold=0.3).fit(customers.X, customers.y)


def test_a_deep_model_is_served_by_xgboost_automatically(deep_model: ChurnModel, customers: Customers) -> None:
    predictor = ChurnPredictor(deep_model, "deep")
    assert predictor.scorer.name == "xgboost"
    frame = customers.frame.head(200)
    scored = predictor.predict_frame(frame)
    np.testing.assert_allclose(scored["churn_probability"], deep_model.predict_proba(frame)[:, 1].round(5), atol=1.1e-5)
    with pytest.raises(UserError, match="cannot serve this model"):
        select_scorer(deep_model, "engine")
    gaps = verify_scorers(deep_model, customers)  # what training records: the engine cannot, XGBoost does
    assert gaps["engine"] is None and gaps["xgboost"] is not None and gaps["xgboost"] < 1e-5


def test_single_and_batch_paths_agree(predictor: ChurnPredictor, customers: Customers) -> None:
    frame = customers.frame.head(50)
    batch = predictor.predict_frame(frame)
    for i, record in enumerate(frame.to_dict(orient="records")):
        one = predictor.predict_one(record)
        assert one.probability == pytest.approx(batch["churn_probability"].iloc[i], abs=1e-5)


def test_model_beats_chance_and_baseline_is_reported(trained: TrainResult) -> None:
    assert set(trained.cv) >= {"logistic_regression", "xgboost", "xgboost_sigmoid"}
    assert trained.cv["xgboost_sigmoid"].mean > 0.8
    assert trained.cv["logistic_regression"].mean > 0.8


def test_out_of_fold_predictions_are_out_of_fold(trained: TrainResult, customers: Customers) -> None:
    result = trained.cv["xgboost"]
    assert not np.isnan(result.oof).any()
    # every customer is validated exactly once
    validated = np.concatenate([val for _, val in result.folds])
    assert sorted(validated.tolist()) == list(range(len(customers.frame)))
    assert roc_auc_score(customers.y, result.oof) == pytest.approx(result.mean, abs=0.01)


def test_customer_id_changes_nothing(predictor: ChurnPredictor, customer: dict[str, Any]) -> None:
    a = predictor.predict_one({**customer, "customerID": "0000-AAAAA"})
    b = predictor.predict_one({**customer, "customerID": "9999-ZZZZZ"})
    assert a == b


def test_month_to_month_is_riskier_than_two_year(predictor: ChurnPredictor, customers: Customers) -> None:
    records = customers.X.sample(200, random_state=0).to_dict(orient="records")
    monthly = [predictor.predict_one({**r, "Contract": "Month-to-month"}).probability for r in records]
    two_year = [predictor.predict_one({**r, "Contract": "Two year"}).probability for r in records]
    assert all(m >= t for m, t in zip(monthly, two_year, strict=True))
    assert np.mean(monthly) > np.mean(two_year) + 0.1


def test_predictions_are_deterministic(predictor: ChurnPredictor, customers: Customers) -> None:
    first = predictor.predict_frame(customers.frame.head(300))
    second = predictor.predict_frame(customers.frame.head(300))
    assert first.equals(second)


def test_reasons_are_the_largest_shap_values(predictor: ChurnPredictor, customer: dict[str, Any]) -> None:
    prediction = predictor.predict_one(customer)
    assert len(prediction.reasons) == predictor.top_k
    impacts = [abs(r.impact) for r in prediction.reasons]
    assert impacts == sorted(impacts, reverse=True)
    assert prediction.reasons[0].value == customer[prediction.reasons[0].field]


BUSINESS = BusinessConfig(retention_offer_cost=100, churner_value=800, offer_success_rate=0.5)


def test_campaign_profit_by_hand() -> None:
    y = np.array([1, 0, 1, 0])
    p = np.array([0.9, 0.6, 0.4, 0.1])
    # contact at t=0.5: customers 0 (churner: 0.5*800-100=300) and 1 (stayer: -100) -> 200
    # at t=0.3: + customer 2 (churner: +300) -> 500; at t=0.95: nobody -> 0
    profit = campaign_profit(y, p, np.array([0.95, 0.5, 0.3, 0.05]), BUSINESS)
    np.testing.assert_allclose(profit, [0, 200, 500, 400])


def test_threshold_sits_at_the_bayes_rule_for_calibrated_scores() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 200_000)
    y = (rng.uniform(0, 1, p.size) < p).astype(int)  # perfectly calibrated
    choice = choose_threshold(y, p, BUSINESS)
    assert BUSINESS.bayes_threshold == pytest.approx(0.25)
    assert choice.threshold == pytest.approx(0.25, abs=0.02)
