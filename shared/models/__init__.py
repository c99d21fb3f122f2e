"""All ORM models on one declarative base (import from here so Alembic sees every table)."""

from shared.models.asset import (
    ASSET_SOURCES,
    ASSET_TYPES,
    AssetAttempt,
    AssetSceneLink,
    DismissedEntity,
    GlobalAsset,
    ProjectAsset,
)
from shared.models.base import Base
from shared.models.continuity import SUGGESTION_RULES, ContinuityState, SceneAssetSuggestion, Shot
from shared.models.job import JOB_STATUSES, TERMINAL_STATUSES, IdempotencyKey, Job, LLMCallRecord
from shared.models.project import ASPECT_RATIOS, Project, StyleCapsule
from shared.models.script import SCRIPT_FORMATS, Scene, Script
from shared.models.stage8 import SceneAssetInstance, SceneInstanceAttempt

__all__ = [
    "ASPECT_RATIOS",
    "ASSET_SOURCES",
    "ASSET_TYPES",
    "JOB_STATUSES",
    "SCRIPT_FORMATS",
    "SUGGESTION_RULES",
    "TERMINAL_STATUSES",
    "AssetAttempt",
    "AssetSceneLink",
    "Base",
    "ContinuityState",
    "DismissedEntity",
    "GlobalAsset",
    "IdempotencyKey",
    "Job",
    "LLMCallRecord",
    "Project",
    "ProjectAsset",
    "Scene",
    "SceneAssetInstance",
    "SceneAssetSuggestion",
    "SceneInstanceAttempt",
    "Script",
    "Shot",
    "StyleCapsule",
]
