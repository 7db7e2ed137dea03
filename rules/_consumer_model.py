"""OPS6xx's model of one file: ``KafkaModel`` puts the family's parts together (see
``_consumers``) and answers OPS601's and OPS602's questions; ``model_for`` builds it once
per file, ``calls_project_factory`` tells the engine which modules to analyse.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from opslint.project import ProjectIndex
from opslint.rules._consumer_commits import Commits
from opslint.rules._consumer_kinds import ConsumerKinds, HttpKinds
from opslint.rules._consumer_settings import SettingsReader
from opslint.rules._consumer_sites import consume_sites
from opslint.rules._consumer_terms import RecordTerms
from opslint.rules._consumers import Consumer, ConsumerFacts, ConsumeSite, KafkaFile, Seen, Setting, Term
from opslint.rules._kafka_facts import KafkaModuleFacts


class KafkaModel:
    """OPS6xx's answers for one file.  The parts are built once and share their caches:
    a consumer is the same object for the sites, the terms and the commits."""

    def __init__(
        self,
        facts: ConsumerFacts,
        ctx: Any,
        project: Optional[ProjectIndex],
        module_facts: Mapping[str, KafkaModuleFacts],
    ) -> None:
        self.file = KafkaFile(facts, ctx, project, module_facts)
        self.project = project
        self.settings = SettingsReader(self.file)
        self.consumer_kinds = ConsumerKinds(self.file, self.settings)
        self.http_kinds = HttpKinds(self.file, self.settings)
        self.terms = RecordTerms(self.file, self.settings, self.http_kinds)
        self.commits = Commits(self.file, self.consumer_kinds)

    def display(self, path: str) -> str:
        """``path`` shown like this file's display path (relative to the same base)."""
        return self.file.display(path)

    # -- OPS601 ------------------------------------------------------------------------

    def consume_sites(self) -> List[ConsumeSite]:
        return consume_sites(self.file.facts, self.consumer_kinds)

    def region_terms(self, site: ConsumeSite) -> List[Term]:
        return self.terms.region_terms(site)

    def poll_terms(self, site: ConsumeSite) -> List[Term]:
        return self.terms.poll_terms(site)

    # -- OPS602 ------------------------------------------------------------------------

    def manual_consumers(self) -> List[Tuple[Consumer, Setting, Seen]]:
        return self.commits.manual_consumers()

    def reaches_commit(self, consumer: Consumer, seen: Seen) -> bool:
        return self.commits.reaches_commit(consumer, seen)


def model_for(facts: ConsumerFacts, ctx: Any, code: str) -> KafkaModel:
    """The file's model, built once (OPS601 and OPS602 share it; both rules compute the
    same project facts, so either rule's are read)."""
    if not isinstance(facts.model, KafkaModel):
        project = ctx.project if isinstance(ctx.project, ProjectIndex) else None
        module_facts: Dict[str, KafkaModuleFacts] = {}
        if project is not None:
            module_facts = {k: v for k, v in project.facts(code).items() if isinstance(v, KafkaModuleFacts)}
        facts.model = KafkaModel(facts, ctx, project, module_facts)
    return facts.model


def calls_project_factory(project: ProjectIndex, code: str, path: str) -> bool:
    """Whether a module calls a project function that returns a consumer (its text may
    name no Kafka client: ``consumer = build_consumer()``)."""

    def compute() -> frozenset:  # type: ignore[type-arg]
        return frozenset(
            f"{module}.{name}"
            for module, facts in project.facts(code).items()
            if isinstance(facts, KafkaModuleFacts)
            for name in facts.factories
        )

    factories = project.memo(("OPS6xx consumer factories", code), compute)
    if not factories:
        return False
    module = project.module_of(path)
    summary = project.summary(module) if module is not None else None
    if summary is None:
        return False
    for function in summary.functions.values():
        for site in function.calls:
            callee = site.callee.split("()", 1)[0]
            if callee in factories or project.canonical(callee) in factories:
                return True
    return False
