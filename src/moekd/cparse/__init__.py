"""tree-sitter C for the attacks and the scanner: functions, renamable identifiers, safe renaming.

The renaming unit is a NAME (as in ALERT and MHM): all parameters and locals that share a name
are renamed together, at exactly the occurrences bound to them by C's scope rules; fields,
types, labels, macros, globals and the function's own name are never touched. All offsets are
UTF-8 byte offsets into the code as given.
"""

from moekd.cparse.augment import identifier_vocabulary, random_variant
from moekd.cparse.binder import Binding, BindResult, bind
from moekd.cparse.dataflow import (
    VariableGraph,
    code_tokens,
    computed_from_edges,
    dataflow_edges,
    variable_graph,
)
from moekd.cparse.functions import CFunction, extract_functions
from moekd.cparse.identifiers import Declaration, Identifier, renamable_identifiers
from moekd.cparse.names import C_KEYWORDS, name_problem
from moekd.cparse.parser import parse, parse_function
from moekd.cparse.rename import (
    RenameError,
    check_preserved,
    present_words,
    preservation_problem,
    rename,
    validate_new_name,
)

__all__ = [
    "BindResult",
    "Binding",
    "C_KEYWORDS",
    "CFunction",
    "Declaration",
    "Identifier",
    "RenameError",
    "VariableGraph",
    "bind",
    "check_preserved",
    "code_tokens",
    "computed_from_edges",
    "dataflow_edges",
    "extract_functions",
    "identifier_vocabulary",
    "name_problem",
    "parse",
    "parse_function",
    "present_words",
    "random_variant",
    "preservation_problem",
    "rename",
    "renamable_identifiers",
    "validate_new_name",
    "variable_graph",
]
