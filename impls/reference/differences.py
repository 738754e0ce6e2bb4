"""Where the reference engine knowingly differs from PyTorch inside the declared subset.

Everything else in :mod:`gradspec.spec.api`'s subset is meant to match torch
bit-for-bit in kind (values within float tolerance, dtypes, shapes, flags,
gradients, error classes), and the differential fuzzer
(``tests/test_reference_fuzz.py``) checks it. Each entry here says what differs,
why matching torch is not worth it, and which test pins the reference's
behaviour; ``torch_error`` is a pattern of the torch error message that marks a
program hitting the difference, so the fuzzer can set such programs aside
instead of reporting them.
"""

from __future__ import annotations

from typing import NamedTuple


class Difference(NamedTuple):
    name: str
    behaviour: str
    why: str
    test: str
    torch_error: str | None = None


DIFFERENCES: tuple[Difference, ...] = (
    Difference(
        name="inplace-overlapping-operand",
        behaviour=(
            "an in-place op whose operand shares memory with its output in a different layout "
            "(x.unsqueeze(0).mul_(x), v.copy_(v.unsqueeze(-1))) is computed as if the operand had "
            "been cloned first; torch raises RuntimeError ('some elements of the input tensor and "
            "the written-to tensor refer to a single memory location')"
        ),
        why=(
            "torch's check compares storage offsets and strides, which the reference does not "
            "model; the result it computes is the one torch's error message asks the user to get "
            "with clone()"
        ),
        test="tests/test_reference_regressions.py::test_difference_overlapping_inplace_operand",
        torch_error=r"refer to a single memory location",
    ),
    Difference(
        name="no-grad-view-after-inplace",
        behaviour=(
            "a view made under no_grad of a tensor that requires grad, once its base (or another "
            "view of it) has been modified in place, stays usable as a constant on the reference; "
            "torch raises RuntimeError ('A view was created in no_grad mode and its base or another "
            "view of its base has been modified inplace') on its next use"
        ),
        why=(
            "torch forbids the case as ambiguous rather than defining it; the reference keeps the "
            "defined part of torch's behaviour (such a view reports requires_grad=True and passes "
            "no gradient)"
        ),
        test="tests/test_reference_regressions.py::test_difference_no_grad_view_after_inplace",
        torch_error=r"A view was created in no_grad mode",
    ),
    Difference(
        name="view-node-name-after-inplace",
        behaviour=(
            "once a view's base has changed in place, torch gives the view a regenerated grad_fn "
            "named AsStridedBackward0; the reference replays the view's own steps, so the name stays "
            "the view's (SliceBackward0, TransposeBackward0, ...); the gradients are the same"
        ),
        why="the name is an implementation detail of torch's view replay, not part of the semantics",
        test="tests/test_reference_regressions.py::test_difference_view_node_name_after_inplace",
    ),
    Difference(
        name="retained-view-regenerated-eagerly",
        behaviour=(
            "when a view that called retain_grad() has its base modified in place, the reference "
            "moves its retain_grad to the regenerated grad_fn at once; torch does so lazily, the "
            "next time the view's grad_fn is read (any use of the view reads it), so a backward "
            "through the old graph before that still fills the view's .grad"
        ),
        why=(
            "lazy regeneration would make every grad_fn read check a version counter; the two "
            "agree as soon as the view is used or inspected"
        ),
        test="tests/test_reference_regressions.py::test_difference_retained_view_regenerated_eagerly",
    ),
    Difference(
        name="double-backward-node-names",
        behaviour=(
            "gradients computed with create_graph=True carry the grad_fn of the engine's own ops "
            "(MulBackward0, ...) where torch names fused double-backward nodes "
            "(SigmoidBackwardBackward0, ...); values and higher derivatives are the same"
        ),
        why=(
            "the reference's derivative formulas are written with its ordinary ops, which is what "
            "makes every derivative differentiable again without a second table"
        ),
        test="tests/test_reference_regressions.py::test_difference_double_backward_node_names",
    ),
    Difference(
        name="grad-mode-global",
        behaviour=(
            "no_grad / enable_grad / set_grad_enabled switch one process-wide flag; in torch grad "
            "mode is thread-local, so a no_grad block in one thread does not affect another"
        ),
        why="the suite and the note's programs run on one thread; a thread-local flag costs every op",
        test="tests/test_reference_regressions.py::test_difference_grad_mode_is_global",
    ),
    Difference(
        name="random-streams",
        behaviour=(
            "manual_seed(s) makes rand/randn/nn.Linear's initialisation reproducible within the "
            "reference engine, but the numbers are not torch's"
        ),
        why="reproducing torch's Philox/MT19937 streams bit for bit is outside an autograd oracle's job",
        test="tests/test_reference_regressions.py::test_difference_random_streams_are_the_engines_own",
    ),
)
"""The documented differences (re-exported by :mod:`gradspec.spec.api`)."""


def torch_error_patterns() -> tuple[str, ...]:
    """The torch error patterns of the differences that the fuzzer sets aside."""
    return tuple(d.torch_error for d in DIFFERENCES if d.torch_error)
