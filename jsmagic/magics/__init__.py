"""The IPython layer: thin magics that parse arguments, call the core, show the result.

Each theme is one ``Magics`` class in its own module; :data:`MAGICS` lists them for
:func:`jsmagic.load_ipython_extension`.
"""

from .base import say_comment_rule
from .connection import ConnectionMagics
from .consumers import ConsumerMagics
from .counters import CounterMagics
from .corenats import CoreNatsMagics
from .operate import OperateMagics
from .health import HealthMagics
from .objects import ObjectMagics
from .streams import StreamMagics
from .consume import ConsumeMagics
from .kv import KVMagics
from .publish import PublishMagics

MAGICS = [
    ConnectionMagics,
    ConsumerMagics,
    ObjectMagics,
    StreamMagics,
    ConsumeMagics,
    KVMagics,
    PublishMagics,
    CounterMagics,
    CoreNatsMagics,
    OperateMagics,
    HealthMagics,
]

say_comment_rule(MAGICS)  # every %magic? says how a line is split, and that `# …` is a comment
