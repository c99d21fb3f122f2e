"""The reference chain (seed 3B.2, 3B.11): the images a scene can start from.

For an instance in the scene at position P of the current script, the chain is the asset's master
image (its selected Stage 5 attempt), then the selected image of each live instance of the same
asset in a scene before P, in script order. "Before" is ``scenes.position`` of the current script,
never the scene number, so reordering or deleting scenes changes the chain on the next read.
The default reference is the most recent earlier image, else the master, else nothing. A pinned
reference that has left the chain (its scene moved after this one, its attempt was deleted, the
master changed) silently falls back to the default: nothing keys on a stale choice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import ValidationFailed
from shared.models import AssetAttempt, Scene, SceneAssetInstance, SceneInstanceAttempt
from shared.stage8 import repository as repo
from shared.stage8.schemas import ChainItem, ImageKind, ReferenceChain, SceneImage
from shared.storage.base import Storage


def pin_in_chain(
    target: Row[Any] | None, *, asset_id: uuid.UUID, script_id: uuid.UUID, position: int
) -> bool:
    """Whether a pinned instance attempt (a ``repo.reference_targets`` row) is still in the chain."""
    return target is not None and target_in_chain(
        target.asset_id,
        target.script_id,
        target.position,
        bool(target.is_live),
        asset_id=asset_id,
        script_id=script_id,
        position=position,
    )


def target_in_chain(
    target_asset_id: uuid.UUID | None,
    target_script_id: uuid.UUID | None,
    target_position: int | None,
    target_live: bool | None,
    *,
    asset_id: uuid.UUID,
    script_id: uuid.UUID,
    position: int,
) -> bool:
    """``pin_in_chain`` from plain values: the pinned attempt is an image of the same asset, in a live
    instance of a scene before ``position`` of the same script. None (its instance or scene is gone)
    never holds."""
    return (
        target_asset_id == asset_id
        and target_script_id == script_id
        and target_position is not None
        and target_position < position
        and bool(target_live)
    )


Choice = Literal["master", "pin", "earlier"]


def choose_reference(
    reference_kind: str | None, *, has_master: bool, pin_holds: bool, has_earlier: bool
) -> tuple[Choice | None, bool]:
    """What an instance starts from, and whether that is the user's pin (else the default). A pin
    on the master holds while there is a master; a pin on an earlier scene's image while it is in the
    chain (``pin_holds``); otherwise the default: the most recent earlier image, else the master."""
    if reference_kind == "master" and has_master:
        return "master", True
    if reference_kind == "instance" and pin_holds:
        return "pin", True
    if has_earlier:
        return "earlier", False
    return ("master", False) if has_master else (None, False)


def master_image(attempt: AssetAttempt, storage: Storage) -> SceneImage:
    return SceneImage(
        kind="master",
        scene_number=None,
        attempt_id=attempt.id,
        image_url=storage.signed_url(attempt.storage_key),
        thumbnail_url=storage.signed_url(attempt.thumbnail_key) if attempt.thumbnail_key else None,
    )


def instance_image(attempt: SceneInstanceAttempt, scene_number: int, storage: Storage) -> SceneImage:
    return SceneImage(
        kind="instance",
        scene_number=scene_number,
        attempt_id=attempt.id,
        image_url=storage.signed_url(attempt.storage_key),
        thumbnail_url=storage.signed_url(attempt.thumbnail_key) if attempt.thumbnail_key else None,
    )


@dataclass
class References:
    """Everything needed to resolve the references of the instances of one scene, loaded in three
    queries (masters, latest earlier images, pinned targets) whatever the number of instances."""

    script_id: uuid.UUID
    position: int
    masters: dict[uuid.UUID, AssetAttempt] = field(default_factory=dict)
    earlier: dict[uuid.UUID, tuple[int, SceneInstanceAttempt]] = field(default_factory=dict)
    targets: dict[uuid.UUID, Row[Any]] = field(default_factory=dict)

    @classmethod
    async def load(
        cls,
        session: AsyncSession,
        *,
        script_id: uuid.UUID,
        position: int,
        instances: list[SceneAssetInstance],
    ) -> References:
        asset_ids = sorted({i.asset_id for i in instances})
        pinned = [i.reference_attempt_id for i in instances if i.reference_attempt_id is not None]
        return cls(
            script_id=script_id,
            position=position,
            masters=await repo.masters(session, asset_ids),
            earlier=await repo.latest_earlier(
                session, script_id=script_id, asset_ids=asset_ids, position=position
            ),
            targets=await repo.reference_targets(session, pinned),
        )

    def default(self, asset_id: uuid.UUID, storage: Storage) -> SceneImage | None:
        picked = self._default(asset_id)
        return _image(picked, storage) if picked else None

    def resolve(self, instance: SceneAssetInstance, storage: Storage) -> tuple[SceneImage | None, bool]:
        """The instance's reference and whether it is the user's pin (else the default)."""
        picked, pinned = self.pick(instance)
        return (_image(picked, storage) if picked else None), pinned

    def pick(self, instance: SceneAssetInstance) -> tuple[Picked | None, bool]:
        """The attempt row behind the instance's reference (what a generation sends the provider)."""
        asset_id = instance.asset_id
        target = None
        if instance.reference_kind == "instance" and instance.reference_attempt_id is not None:
            target = self.targets.get(instance.reference_attempt_id)
        choice, pinned = choose_reference(
            instance.reference_kind,
            has_master=asset_id in self.masters,
            pin_holds=pin_in_chain(
                target, asset_id=asset_id, script_id=self.script_id, position=self.position
            ),
            has_earlier=asset_id in self.earlier,
        )
        if choice == "pin":
            assert target is not None  # a pin holds only on a found target
            return Picked("instance", target.number, target[0]), pinned
        return self._picked(asset_id, choice), pinned

    def _default(self, asset_id: uuid.UUID) -> Picked | None:
        choice, _ = choose_reference(
            None, has_master=asset_id in self.masters, pin_holds=False, has_earlier=asset_id in self.earlier
        )
        return self._picked(asset_id, choice)

    def _picked(self, asset_id: uuid.UUID, choice: Choice | None) -> Picked | None:
        if choice == "earlier":
            number, attempt = self.earlier[asset_id]
            return Picked("instance", number, attempt)
        if choice == "master":
            return Picked("master", None, self.masters[asset_id])
        return None


@dataclass(frozen=True, slots=True)
class Picked:
    kind: ImageKind
    scene_number: int | None
    attempt: AssetAttempt | SceneInstanceAttempt


def _image(picked: Picked, storage: Storage) -> SceneImage:
    if isinstance(picked.attempt, AssetAttempt):
        return master_image(picked.attempt, storage)
    assert picked.scene_number is not None  # an instance image always has its scene
    return instance_image(picked.attempt, picked.scene_number, storage)


async def reference_chain(
    session: AsyncSession,
    storage: Storage,
    *,
    scene: Scene,
    instance: SceneAssetInstance,
    all_attempts: bool,
) -> ReferenceChain:
    refs = await References.load(
        session, script_id=scene.script_id, position=scene.position, instances=[instance]
    )
    current, _ = refs.resolve(instance, storage)
    default = refs.default(instance.asset_id, storage)
    rows = await repo.chain_rows(
        session,
        script_id=scene.script_id,
        asset_id=instance.asset_id,
        position=scene.position,
        all_attempts=all_attempts,
    )
    items: list[ChainItem] = []
    master = refs.masters.get(instance.asset_id)
    if master is not None:
        image = master_image(master, storage)
        items.append(_item(image, None, None, master.attempt_number, True, default, current))
    for attempt, scene_id, number, heading in rows:
        image = instance_image(attempt, number, storage)
        items.append(
            _item(image, scene_id, heading, attempt.attempt_number, attempt.selected, default, current)
        )
    return ReferenceChain(
        items=items, default_attempt_id=default.attempt_id if default else None, current=current
    )


def _item(
    image: SceneImage,
    scene_id: uuid.UUID | None,
    heading: str | None,
    attempt_number: int,
    selected: bool,
    default: SceneImage | None,
    current: SceneImage | None,
) -> ChainItem:
    return ChainItem(
        kind=image.kind,
        scene_id=scene_id,
        scene_number=image.scene_number,
        heading=heading,
        attempt_id=image.attempt_id,
        attempt_number=attempt_number,
        selected=selected,
        image_url=image.image_url,
        thumbnail_url=image.thumbnail_url,
        default=default is not None and default.attempt_id == image.attempt_id,
        current=current is not None and current.attempt_id == image.attempt_id,
    )


async def pin_reference(
    session: AsyncSession, *, scene: Scene, instance: SceneAssetInstance, attempt_id: uuid.UUID | None
) -> None:
    """Make ``attempt_id`` the instance's reference (None: back to the default). Only an image of
    the chain is accepted, including the non-selected attempts of earlier scenes (the rearview
    mirror); anything else, a foreign id included, is 422 ``reference_not_in_chain``."""
    if attempt_id is None:
        instance.reference_kind, instance.reference_attempt_id, instance.inherited_from_instance_id = (
            None,
            None,
            None,
        )
        return
    master = (await repo.masters(session, [instance.asset_id])).get(instance.asset_id)
    if master is not None and master.id == attempt_id:
        instance.reference_kind, instance.reference_attempt_id, instance.inherited_from_instance_id = (
            "master",
            None,
            None,
        )
        return
    target = (await repo.reference_targets(session, [attempt_id])).get(attempt_id)
    if not pin_in_chain(
        target, asset_id=instance.asset_id, script_id=scene.script_id, position=scene.position
    ):
        raise ValidationFailed(
            "That image is not in this instance's reference chain: pick the asset's master image or an "
            "image of this asset in an earlier scene",
            code="reference_not_in_chain",
            details={"attempt_id": str(attempt_id)},
        )
    assert target is not None
    instance.reference_kind = "instance"
    instance.reference_attempt_id = attempt_id
    instance.inherited_from_instance_id = target[0].instance_id


async def set_reference(
    session: AsyncSession,
    storage: Storage,
    *,
    scene: Scene,
    instance: SceneAssetInstance,
    attempt_id: uuid.UUID | None,
) -> ReferenceChain:
    """Pin (or unpin) the reference of a locked instance row; the chain as it now reads."""
    await pin_reference(session, scene=scene, instance=instance, attempt_id=attempt_id)
    instance.version += 1
    await session.flush()
    return await reference_chain(session, storage, scene=scene, instance=instance, all_attempts=False)
