"""OPS2xx knowledge: ORM model bases, persistence calls, lookups and primary keys.

Everything a data-integrity rule needs to know about SQLAlchemy (declarative,
``DeclarativeBase``, Flask-SQLAlchemy ``db.Model``), SQLModel, Django, Peewee
and Tortoise lives here as data; the rules hold only the analysis.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Tuple

#: Classes whose subclasses are ORM models, by qualified name -> ORM family.
MODEL_BASES: Dict[str, str] = {
    # SQLAlchemy 2.0 declarative classes.
    "sqlalchemy.orm.DeclarativeBase": "sqlalchemy",
    "sqlalchemy.orm.DeclarativeBaseNoMeta": "sqlalchemy",
    "sqlalchemy.orm.decl_api.DeclarativeBase": "sqlalchemy",
    "sqlalchemy.orm.decl_api.DeclarativeBaseNoMeta": "sqlalchemy",
    # SQLModel (a table only with ``table=True``, see TABLE_KEYWORD).
    "sqlmodel.SQLModel": "sqlmodel",
    "sqlmodel.main.SQLModel": "sqlmodel",
    # Django, including the auth models people subclass.
    "django.db.models.Model": "django",
    "django.db.models.base.Model": "django",
    "django.contrib.gis.db.models.Model": "django",
    "django.contrib.auth.models.AbstractUser": "django",
    "django.contrib.auth.models.AbstractBaseUser": "django",
    "django.contrib.auth.base_user.AbstractBaseUser": "django",
    "django.contrib.auth.models.User": "django",
    "django.contrib.auth.models.Group": "django",
    "django.contrib.auth.models.Permission": "django",
    # Peewee and its playhouse variants.
    "peewee.Model": "peewee",
    "playhouse.signals.Model": "peewee",
    # Tortoise ORM.
    "tortoise.models.Model": "tortoise",
    "tortoise.Model": "tortoise",
}

#: Calls that return a declarative base class: ``Base = declarative_base()``.
BASE_FACTORIES: Dict[str, str] = {
    "sqlalchemy.orm.declarative_base": "sqlalchemy",
    "sqlalchemy.orm.decl_api.declarative_base": "sqlalchemy",
    "sqlalchemy.ext.declarative.declarative_base": "sqlalchemy",
}

#: Calls that return a model class itself: ``User = get_user_model()``.
MODEL_FACTORIES: Dict[str, str] = {"django.contrib.auth.get_user_model": "django"}

#: Methods of a ``registry()`` object that return a base class (``mapper_registry.generate_base()``).
REGISTRY_FACTORIES: Dict[str, str] = {
    "sqlalchemy.orm.registry": "sqlalchemy",
    "sqlalchemy.orm.decl_api.registry": "sqlalchemy",
}
REGISTRY_BASE_METHODS: FrozenSet[str] = frozenset({"generate_base"})
#: ``@mapper_registry.mapped`` / ``@reg.mapped_as_dataclass`` make the decorated class a model.
REGISTRY_DECORATORS: FrozenSet[str] = frozenset({"mapped", "mapped_as_dataclass"})
#: Decorators that turn the decorated class into a declarative base.
BASE_DECORATORS: Dict[str, str] = {
    "sqlalchemy.orm.as_declarative": "sqlalchemy",
    "sqlalchemy.orm.decl_api.as_declarative": "sqlalchemy",
    "sqlalchemy.ext.declarative.as_declarative": "sqlalchemy",
}

#: Extension objects whose attribute is a model base: ``db = SQLAlchemy(app)``; ``class User(db.Model)``.
NAMESPACE_FACTORIES: Dict[str, Tuple[str, str]] = {
    "flask_sqlalchemy.SQLAlchemy": ("Model", "sqlalchemy"),
    "flask_sqlalchemy.extension.SQLAlchemy": ("Model", "sqlalchemy"),
    "playhouse.flask_utils.FlaskDB": ("Model", "peewee"),
}

#: ORM families whose base makes a table only with a class keyword (``class Hero(SQLModel, table=True)``).
TABLE_KEYWORD: Dict[str, str] = {"sqlmodel": "table"}

#: Attribute names that hold the primary key when the model does not declare one we can see.
DEFAULT_PK: Dict[str, FrozenSet[str]] = {
    "sqlalchemy": frozenset({"id"}),
    "sqlmodel": frozenset({"id"}),
    "django": frozenset({"id", "pk"}),
    "peewee": frozenset({"id"}),
    "tortoise": frozenset({"id", "pk"}),
}
#: Aliases of the primary key that exist whatever the field is called.
PK_ALIASES: Dict[str, FrozenSet[str]] = {
    "django": frozenset({"pk"}),
    "tortoise": frozenset({"pk"}),
    "peewee": frozenset(),
    "sqlalchemy": frozenset(),
    "sqlmodel": frozenset(),
}
#: Keyword arguments of a field/column declaration that make it the primary key.
PK_FIELD_KEYWORDS: FrozenSet[str] = frozenset({"primary_key", "pk"})
#: Field classes that are a primary key by themselves (peewee ``AutoField()``; the old ``PrimaryKeyField``).
PK_FIELD_CALLS: FrozenSet[str] = frozenset({"AutoField", "BigAutoField", "PrimaryKeyField"})
#: Keyword arguments that give the key a value when the object is constructed (not at flush).
#: ``default=None`` (the SQLModel idiom) does not count.
PK_DEFAULT_KEYWORDS: FrozenSet[str] = frozenset({"default", "default_factory"})
#: SQLAlchemy field calls whose ``default=`` is applied at INSERT, not at construction.
INSERT_TIME_DEFAULT_FIELDS: FrozenSet[str] = frozenset({"Column", "mapped_column"})
#: Field classes whose primary key gets a client-side default by themselves
#: (Tortoise ``UUIDField(pk=True)`` defaults to ``uuid4``).
PK_SELF_DEFAULTING: Dict[str, FrozenSet[str]] = {"tortoise": frozenset({"UUIDField"})}

#: Calls on a session (any receiver) that write pending objects: every new object may have its key after them.
FLUSH_METHODS: FrozenSet[str] = frozenset({"flush", "commit", "bulk_save_objects", "bulk_create"})
#: Methods of the object itself that do not write it.  Any other method call on a new object
#: (``save``, ``insert``, a project's ``persist()``, ``refresh_from_db``...) may give it a key.
OBJECT_SAFE_METHODS: FrozenSet[str] = frozenset(
    {"clean", "full_clean", "clean_fields", "validate_unique", "validate", "get_absolute_url", "to_dict", "get_id"}
    | {"_get_pk_val"}
)
#: Decorators that make a method read as an attribute (``invoice.is_persisted``).
PROPERTY_DECORATORS: FrozenSet[str] = frozenset({"property", "cached_property", "hybrid_property"})
#: Class methods that build a model from another object (SQLModel / pydantic).
#: Methods a model overrides to take part in its own persistence: their ``self.pk is None``
#: rightly means "being inserted" for a new object (Django ``save``, ``clean``...), so a new
#: object's call of one of them is not a constant key test.  Dunder methods likewise.
LIFECYCLE_METHODS: FrozenSet[str] = frozenset(
    {
        "save",
        "asave",
        "save_base",
        "clean",
        "full_clean",
        "clean_fields",
        "validate_unique",
        "validate_constraints",
        "delete",
        "adelete",
        "refresh_from_db",
        "get_absolute_url",
        "natural_key",
        "before_save",
        "after_save",
        "pre_save",
        "post_save",
        "on_save",
    }
)
VALIDATE_CONSTRUCTORS: FrozenSet[str] = frozenset({"model_validate", "from_orm", "parse_obj", "validate"})
#: Bases of input schemas with no fields of their own.
VALIDATE_ROOTS: FrozenSet[str] = frozenset({"SQLModel", "BaseModel", "pydantic.BaseModel", "sqlmodel.SQLModel"})
#: Methods that read the primary key (Peewee ``get_id()``, Django ``_get_pk_val()``).
KEY_ACCESSORS: FrozenSet[str] = frozenset({"get_id", "_get_pk_val"})
#: Attributes whose use lets code rewrite the object's fields wholesale (``obj.__dict__.update(row)``).
OBJECT_ESCAPE_ATTRIBUTES: FrozenSet[str] = frozenset({"__dict__", "_data", "__data__", "_state"})
#: Calls that attach an object to a session without writing it; the next query may autoflush it.
SESSION_ADD_METHODS: FrozenSet[str] = frozenset({"add", "add_all"})
#: Context managers that commit when the block ends (``with session.begin():``).
COMMITTING_CONTEXTS: FrozenSet[str] = frozenset({"begin", "begin_nested", "atomic"})

#: Lookup calls: a value they return came from the database (documented for the rule's reasoning;
#: any non-constructor value is treated as loaded).
LOOKUP_METHODS: FrozenSet[str] = frozenset(
    {
        "get",
        "get_or_none",
        "get_or_create",
        "update_or_create",
        "first",
        "one",
        "one_or_none",
        "scalar",
        "scalar_one",
        "scalar_one_or_none",
        "merge",
        "create",
    }
)

#: Calls that may receive the object without writing it.
HARMLESS_FUNCTIONS: FrozenSet[str] = frozenset(
    {"print", "len", "str", "repr", "isinstance", "type", "id", "bool", "hash", "format", "getattr", "hasattr"}
)
#: Logging methods: ``logger.info("...", obj)`` does not write the object.
LOG_METHODS: FrozenSet[str] = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})

#: Type names in a primary-key declaration that make it a natural key the application sets
#: (a string or a UUID): the database does not assign it, so testing it is not OPS201's bug.
NATURAL_KEY_TYPES: FrozenSet[str] = frozenset(
    {
        "str",
        "String",
        "Text",
        "Unicode",
        "UnicodeText",
        "VARCHAR",
        "CHAR",
        "CharField",
        "TextField",
        "SlugField",
        "EmailField",
        "UUID",
        "Uuid",
        "UUIDField",
        "BinaryUUIDField",
    }
)

#: Text without which a module holds no fact OPS201 needs from it: a key declaration, or a test
#: of an ``id``/``pk`` attribute (``x.id is None``, ``not x.pk``, ``x.id or``, ``getattr(x, "id")``).
FACT_TOKENS: Tuple[str, ...] = (
    "primary_key",
    "pk=",
    "AutoField",
    "PrimaryKeyField",
    ".id is",
    ".pk is",
    ".id ==",
    ".pk ==",
    ".id !=",
    ".pk !=",
    ".id in",
    ".pk in",
    ".id:",
    ".pk:",
    ".id)",
    ".pk)",
    ".id and",
    ".pk and",
    ".id or",
    ".pk or",
    ".id else",
    ".pk else",
    ".id\n",
    ".pk\n",
    "'id'",
    '"id"',
    "'pk'",
    '"pk"',
)

#: Attribute names a helper's test is recorded for (its caller decides whether it is the key).
SUMMARY_KEY_NAMES: FrozenSet[str] = frozenset({"id", "pk"})
SUMMARY_KEY_SUFFIXES: Tuple[str, ...] = ("_id", "_pk", "uuid")


def keyish(attr: str) -> bool:
    return attr in SUMMARY_KEY_NAMES or attr.endswith(SUMMARY_KEY_SUFFIXES)
