"""The per-request context: the viewer and lazily created loaders."""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from sqlalchemy.ext.asyncio import async_sessionmaker

from db.cache.aside import Cache
from db.engine import Sessions
from db.queries.variants import IMAGES_PER_PRODUCT
from db.rows import ImageRow
from graph.loaders.categories import (
    AncestorsByCategoryIdLoader,
    CategoryByIdLoader,
    CategoryBySlugLoader,
    ChildrenByCategoryIdLoader,
)
from graph.loaders.jobs import JobByIdLoader
from graph.loaders.products import (
    ProductByIdLoader,
    ProductBySlugLoader,
    ProductCountByCategoryIdLoader,
    ProductPageArgs,
    ProductPageByCategoryLoader,
    ProductWithCategoryBySlugLoader,
)
from graph.loaders.variants import (
    ImageByIdLoader,
    ImagesByProductIdLoader,
    VariantByIdLoader,
    VariantBySkuLoader,
    VariantsByProductIdLoader,
)
from graph.loaders.views import ViewCountByProductIdLoader
from graph.loaders.webhooks import DeliveriesByWebhookIdLoader, WebhookByIdLoader
from graph.settings import Settings
from graph.viewer import Viewer
from workers.dispatch import Dispatcher
from workers.webhook_targets import Resolve, system_resolve

if TYPE_CHECKING:
    from graph.subscriptions.hub import EventHub

log = logging.getLogger(__name__)
T = TypeVar("T")


class lazy(Generic[T]):
    """functools.cached_property without its lock: on Python 3.11 every first access takes an
    RLock, and a request creates its loaders by first accesses. The value goes into the
    instance's __dict__, which every later access finds first (a request is one task)."""

    def __init__(self, create: Callable[[Any], T]) -> None:
        self.create = create
        self.name = create.__name__

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> "lazy[T]": ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.create(instance)
        return value


class Loaders:
    """Created per request; each loader only when a resolver first asks for it."""

    def __init__(self, sessions: Sessions, viewer: Viewer, store: Cache | None = None) -> None:
        self.sessions = sessions
        self.viewer = viewer
        self.store = store
        # True while the planned executor awaits the only batch of a level: nothing else of
        # this request runs then, so a lookup's one key may be loaded in its own task
        # (SessionLoader.fetch) with no batch to wait for.
        self.alone = False
        self._pages: dict[ProductPageArgs, ProductPageByCategoryLoader] = {}
        self._images: dict[int, ImagesByProductIdLoader] = {}
        self._details: dict[tuple[bool, bool, bool], ProductWithCategoryBySlugLoader] = {}
        # Lists of each product's first IMAGES_PER_PRODUCT images another statement brought.
        self._brought_images: dict[int, list[ImageRow]] = {}

    @lazy
    def product_by_id(self) -> ProductByIdLoader:
        return ProductByIdLoader(self.sessions, self.store)

    @lazy
    def product_by_slug(self) -> ProductBySlugLoader:
        return ProductBySlugLoader(self.sessions, self.product_by_id, self.store)

    def product_with_details_by_slug(
        self, ancestors: bool, variants: bool, images: bool
    ) -> ProductWithCategoryBySlugLoader:
        """Brings the products' categories, and as asked their categories' ancestors, their
        variants and images (a product page), in the statement that finds them."""
        loader = self._details.get((ancestors, variants, images))
        if loader is None:
            loader = self._details[ancestors, variants, images] = ProductWithCategoryBySlugLoader(
                self.sessions,
                self.product_by_id,
                self.category_by_id,
                self.store,
                ancestors=ancestors,
                variants=self.variants_by_product_id if variants else None,
                images=self.remember_images if images else None,
            )
        return loader

    @lazy
    def category_by_id(self) -> CategoryByIdLoader:
        return CategoryByIdLoader(self.sessions, self.store)

    @lazy
    def category_by_slug(self) -> CategoryBySlugLoader:
        return CategoryBySlugLoader(self.sessions, self.category_by_id, self.store)

    @property
    def ancestors_by_category_id(self) -> AncestorsByCategoryIdLoader:
        return self.category_by_id.ancestors

    @lazy
    def children_by_category_id(self) -> ChildrenByCategoryIdLoader:
        return ChildrenByCategoryIdLoader(self.sessions, self.store)

    @lazy
    def product_count_by_category_id(self) -> ProductCountByCategoryIdLoader:
        return ProductCountByCategoryIdLoader(
            self.sessions, self.viewer.visible_statuses, self.store
        )

    @lazy
    def variant_by_id(self) -> VariantByIdLoader:
        return VariantByIdLoader(self.sessions, self.product_by_id, self.store)

    @lazy
    def variant_by_sku(self) -> VariantBySkuLoader:
        return VariantBySkuLoader(self.sessions, self.variant_by_id, self.store)

    @lazy
    def variants_by_product_id(self) -> VariantsByProductIdLoader:
        return VariantsByProductIdLoader(self.sessions, self.store)

    @lazy
    def job_by_id(self) -> JobByIdLoader:
        return JobByIdLoader(self.sessions)

    @lazy
    def webhook_by_id(self) -> WebhookByIdLoader:
        return WebhookByIdLoader(self.sessions)

    @lazy
    def deliveries_by_webhook_id(self) -> DeliveriesByWebhookIdLoader:
        return DeliveriesByWebhookIdLoader(self.sessions)

    @lazy
    def image_by_id(self) -> ImageByIdLoader:
        return ImageByIdLoader(self.sessions)

    def images_by_product_id(self, first: int) -> ImagesByProductIdLoader:
        """The loader of each product's first `first` images."""
        loader = self._images.get(first)
        if loader is None:
            loader = self._images[first] = ImagesByProductIdLoader(self.sessions, self.store, first)
            for product_id, rows in self._brought_images.items():
                loader.prime(product_id, rows[:first])
        return loader

    async def remember_images(self, lists: dict[int, list[ImageRow]]) -> None:
        """Each product's first IMAGES_PER_PRODUCT images, which another statement brought:
        remembered (tagged, cached) as those, and primed as the first `first` of them into
        every images loader, those this request makes later included."""
        self._brought_images.update(lists)
        for first, loader in self._images.items():
            if first != IMAGES_PER_PRODUCT:
                for product_id, rows in lists.items():
                    loader.prime_missing(product_id, rows[:first])
        await self.images_by_product_id(IMAGES_PER_PRODUCT).remember(lists)

    @lazy
    def view_count_by_product_id(self) -> ViewCountByProductIdLoader:
        return ViewCountByProductIdLoader(self.sessions)

    def product_page(self, args: ProductPageArgs) -> ProductPageByCategoryLoader:
        loader = self._pages.get(args)
        if loader is None:
            loader = self._pages[args] = ProductPageByCategoryLoader(
                self.sessions, args, self.product_by_id, self.store
            )
        return loader


def _nothing() -> None:
    return None


@dataclass(slots=True)
class Context:
    settings: Settings
    sessions: async_sessionmaker[Any]
    viewer: Viewer
    wake_relay: Callable[[], None] = _nothing
    dispatcher: Dispatcher | None = None
    store: Cache | None = None
    # The process's event hub; set for operations that arrive over a WebSocket.
    events: "EventHub | None" = None
    # Sessions for reads (loaders, pages): without a transaction where the database allows
    # it; writes always use `sessions`.
    reads: Sessions | None = None
    # How webhookCreate looks up a URL's host.
    resolve: Resolve = system_resolve
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.readers, self.viewer, self.store)

    @property
    def readers(self) -> Sessions:
        return self.reads or self.sessions

    def after_write(self) -> None:
        """Fields resolved after a mutation must not see rows loaded before it; the relay
        hands any new outbox rows on now rather than at its next poll."""
        self.loaders = Loaders(self.readers, self.viewer, self.store)
        self.wake_relay()

    async def send_task(self, task: str, args: dict[str, Any]) -> bool:
        """Hand `task` straight to the workers, skipping the outbox: for frequent work that may
        be lost (counting views) and must not cost a database write per call. False if the
        broker refused it or there is no dispatcher."""
        if self.dispatcher is None:
            return False
        try:
            await self.dispatcher.send(task, args, f"{task}:{uuid.uuid4().hex}")
        except Exception as error:
            log.warning("task %s was not sent: %r", task, error)
            return False
        return True
