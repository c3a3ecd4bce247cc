"""Every table of the writer service; importing this package makes Base.metadata complete."""

from writer_service.db.models.automation import AutomationRun
from writer_service.db.models.billing import AIRequestLog, CreditTransaction
from writer_service.db.models.content import Content, ContentAttribute, ContentClusterMap, ContentTaxonomyLink
from writer_service.db.models.idempotency import IdempotencyRecord
from writer_service.db.models.images import Image
from writer_service.db.models.jobs import Job, JobEvent, JobItem
from writer_service.db.models.planner import Cluster, ContentIdea
from writer_service.db.models.tasks import Task
from writer_service.db.models.taxonomy import ContentTaxonomy
from writer_service.db.models.tenancy import Account, ApiKey, Sector, Site, User

__all__ = [
    "AIRequestLog",
    "Account",
    "ApiKey",
    "AutomationRun",
    "Cluster",
    "Content",
    "ContentAttribute",
    "ContentClusterMap",
    "ContentIdea",
    "ContentTaxonomy",
    "ContentTaxonomyLink",
    "CreditTransaction",
    "IdempotencyRecord",
    "Image",
    "Job",
    "JobEvent",
    "JobItem",
    "Sector",
    "Site",
    "Task",
    "User",
]
