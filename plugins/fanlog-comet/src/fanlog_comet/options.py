"""Option names users bring from Lightning's CometLogger (2.6 and older), checked before
comet_ml is imported: an option comet_ml does not know would be silently ignored by it."""

from __future__ import annotations

import difflib
from typing import Any

MODES = (None, "get_or_create", "get", "create")

#: The keyword options of comet_ml 3.x ``Experiment`` / ``OfflineExperiment`` (and
#: ``ExperimentConfig``'s ``tags``) that are not this backend's own arguments; copied because
#: importing comet_ml costs seconds (tests/plugins/comet compare it with the installed SDK).
EXPERIMENT_OPTIONS = frozenset({
    "log_code", "log_graph", "auto_param_logging", "auto_metric_logging", "parse_args",
    "auto_output_logging", "log_env_details", "log_git_metadata", "log_git_patch", "disabled",
    "log_env_gpu", "log_env_host", "display_summary", "log_env_cpu", "log_env_network",
    "log_env_disk", "display_summary_level", "optimizer_data", "auto_weight_logging",
    "auto_log_co2", "auto_metric_step_rate", "auto_histogram_tensorboard_logging",
    "auto_histogram_epoch_rate", "auto_histogram_weight_logging",
    "auto_histogram_gradient_logging", "auto_histogram_activation_logging",
    "distributed_node_identifier", "tags",
})
#: Older Lightning options with no meaning here, and what to use instead.
_RETIRED = {"rest_api_key": "api_key (comet_ml uses one key for everything)"}


def one_of(new: str, new_value: Any, old: str, old_value: Any) -> Any:
    """The value of an option known under Lightning's new and old names."""
    if new_value is not None and old_value is not None and new_value != old_value:
        raise ValueError(f"{new}={new_value!r} and {old}={old_value!r} name the same option; "
                         f"pass one")
    return old_value if new_value is None else new_value


def offline(offline: Any, online: Any) -> bool:
    """Whether to write an offline archive, from ``offline`` (old) or ``online`` (2.6)."""
    for option, value in (("offline", offline), ("online", online)):
        if value is not None and not isinstance(value, bool):
            raise TypeError(f"{option} must be True, False or None, got {value!r}")
    if offline is not None and online is not None and offline == online:
        raise ValueError(f"offline={offline} and online={online} contradict each other")
    if offline is not None:
        return offline
    return online is False


def check_experiment_options(options: dict[str, Any]) -> list[str]:
    """Reject options comet_ml does not know; pop and return ``tags``."""
    for option in options:
        if option in _RETIRED:
            raise ValueError(f"comet: {option!r} is not used; pass {_RETIRED[option]}")
        if option not in EXPERIMENT_OPTIONS:
            near = difflib.get_close_matches(option, EXPERIMENT_OPTIONS, n=1)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise ValueError(f"comet: unknown option {option!r}: comet_ml would ignore it.{hint} "
                             f"Options: {', '.join(sorted(EXPERIMENT_OPTIONS))}")
    tags = options.pop("tags", None) or []
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
        raise TypeError(f"tags must be a list of strings, got {tags!r}")
    return list(tags)
