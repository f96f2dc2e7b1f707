"""``genlab fit bn`` (Bayesian networks from a CSV table), ``genlab query`` (posterior tables), and the writer of
``genlab sample`` for Bayesian networks.

Network files: ``.bif`` (BIF), ``.xml`` / ``.xmlbif`` (XMLBIF) or a genlab model file holding a BayesianNetwork
(:func:`genlab.bayesnet.bif.load_network`). Tables: CSV / TSV with a header row, every cell read as text (a state
name); empty cells are missing values (:func:`genlab.data.records.read_records`).
"""

from __future__ import annotations

import enum
import json
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from genlab.bayesnet.bif import is_network_file, load_network
from genlab.cli._app import _print_fields, _warn_lines, app, fit_app
from genlab.cli._distributed import DISTRIBUTED_HELP, Shards
from genlab.data.records import read_records, write_records

__all__ = ["fit_bn", "query", "sample_network"]


class Score(str, enum.Enum):
    bic = "bic"
    bdeu = "bdeu"
    k2 = "k2"


class Method(str, enum.Enum):
    mle = "mle"
    bayes = "bayes"


def _parse_edges(items: list[str] | None, option: str) -> list[tuple[str, str]]:
    edges = []
    for item in items or []:
        parts = item.split("->")
        if len(parts) != 2 or not all(p.strip() for p in parts):
            raise typer.BadParameter(f"edges are written parent->child; got {item!r}.", param_hint=f"'{option}'")
        edges.append((parts[0].strip(), parts[1].strip()))
    return edges


@fit_app.command("bn")
def fit_bn(
    data: Annotated[Path, typer.Argument(metavar="DATA", help="CSV / TSV table with a header row; empty = missing.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the network (.genlab, or .bif / .xml).")],
    structure: Annotated[
        str,
        typer.Option("--structure", help="hill-climb, chow-liu, or a .bif / .xml / .genlab network whose structure "
                     "(and states) to keep: parameters only."),
    ] = "hill-climb",
    score: Annotated[Score, typer.Option("--score", help="Structure score of hill-climb.")] = Score.bic,
    method: Annotated[Method, typer.Option("--method", help="Parameter estimate.")] = Method.mle,
    ess: Annotated[float, typer.Option("--ess", help="BDeu equivalent sample size.")] = 10.0,
    max_indegree: Annotated[int | None, typer.Option("--max-indegree", min=0, help="Most parents per node.")] = None,
    required: Annotated[
        list[str] | None, typer.Option("--require", help="Edge parent->child to keep (repeat).")
    ] = None,
    forbidden: Annotated[list[str] | None, typer.Option("--forbid", help="Edge parent->child to exclude.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (restarts, EM initialisation).")] = 0,
    distributed: Annotated[
        bool, typer.Option("--distributed", help=DISTRIBUTED_HELP + " Parameters only: needs --structure NET.")
    ] = False,
) -> None:
    """Learn a Bayesian network (structure and tables, or tables only) from a table of categorical values.

    Example: genlab fit bn data.csv --structure hill-climb --score bic --out net.genlab
    """
    from genlab.bayesnet import BayesianNetwork
    from genlab.bayesnet.structure import chow_liu, hill_climb

    shards = Shards(distributed)
    frame = read_records(data)
    n_rows, missing = frame.shape[0], int(frame.isna().sum().sum())
    if distributed:
        if structure in ("hill-climb", "chow-liu"):
            from genlab.errors import ParameterError

            raise ParameterError("--distributed learns the tables of a given structure; pass --structure NET.bif "
                                 "(learn the structure on one process first).")  # fmt: skip
        start, stop = shards.range(n_rows)
        frame = frame.iloc[start:stop]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if structure in ("hill-climb", "chow-liu"):
            if frame.isna().any().any():
                from genlab.errors import DataError

                raise DataError(f"{data}: structure learning needs complete rows; learn the structure from the "
                                "complete ones, or give --structure NET.bif to learn parameters by EM.")
            if structure == "hill-climb":
                edges = hill_climb(frame, score=score.value, equivalent_sample_size=ess, max_indegree=max_indegree,
                                   required=_parse_edges(required, "--require"),
                                   forbidden=_parse_edges(forbidden, "--forbid"), random_state=seed)
            else:
                edges = chow_liu(frame)
            model = BayesianNetwork(edges, nodes=list(frame.columns), method=method.value,
                                    equivalent_sample_size=ess, random_state=seed).fit(frame)
            how = f"{structure} ({score.value})" if structure == "hill-climb" else structure
        else:
            template = load_network(Path(structure))
            model = BayesianNetwork(template.edge_list, nodes=template.variables_, states=template.state_names_,
                                    method=method.value, equivalent_sample_size=ess, random_state=seed)
            model.fit(frame, **shards.fit_kwargs())
            how = f"from {structure} (parameters only)"
    (log_likelihood,) = shards.total(float(model.log_prob(frame).sum()) if len(frame) else 0.0)
    if not shards.is_writer:
        return
    _warn_lines(caught)
    if is_network_file(out):
        model.to_bif(out)
    else:
        model.save(out)
    _print_fields([
        ("model", f"BayesianNetwork ({len(model.variables_)} variables, {len(model.edge_list)} edges)"),
        ("data", f"{data} ({n_rows} rows, {missing} missing values)"),
        ("structure", how),
        ("edges", ", ".join(f"{a}->{b}" for a, b in model.edge_list) or "none"),
        ("EM", f"{model.n_iter_} iterations" if model.n_iter_ else "not needed (complete data)"),
        ("log-likelihood", f"{log_likelihood / n_rows:.6g} nats per row"),
        ("saved to", str(out)),
    ])


@app.command("query")
def query(
    model_path: Annotated[Path, typer.Argument(metavar="NETWORK", help="A .bif / .xml / .genlab Bayesian network.")],
    terms: Annotated[
        list[str],
        typer.Argument(metavar="VARIABLE... [NAME=STATE...]", help="Variables to query; NAME=STATE items are "
                       "evidence."),
    ],
    evidence: Annotated[
        list[str] | None, typer.Option("--evidence", "-e", help="NAME=STATE (repeat, or list them after it).")
    ] = None,
    method: Annotated[str, typer.Option("--method", help="exact, loopy_bp, likelihood_weighting, rejection, "
                                        "gibbs.")] = "exact",
    n_samples: Annotated[int, typer.Option("--n-samples", min=2, help="Samples of the sampling methods.")] = 10_000,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed of the sampling methods.")] = None,
    mpe: Annotated[bool, typer.Option("--map", help="Print the most probable joint state instead.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Posterior of each VARIABLE given the evidence (one table per variable), or the most probable state (--map).

    Example: genlab query net.bif lung --evidence smoke=yes xray=yes
    """
    from genlab.errors import DataError

    model = load_network(model_path)
    names: list[str] = []
    given: dict[str, str] = {}
    # Every value of --evidence must be NAME=STATE: a bare name there would otherwise become a queried variable and
    # the answer the prior, printed as if the evidence had been used. After the variables, NAME=STATE items are
    # evidence too (so "-e a=x b=y" works: typer hands b=y to the positional list).
    for item, from_option in [*((e, True) for e in evidence or []), *((t, False) for t in terms)]:
        if "=" not in item and not from_option:
            names.append(item)
            continue
        name, equals, state = (part.strip() for part in item.partition("="))
        if not equals or not name or not state:
            hint = f" (e.g. --evidence {name or 'NAME'}=STATE)" if not equals else ""
            raise DataError(f"evidence is written NAME=STATE; got {item!r}{hint}.")
        if given.get(name, state) != state:
            raise DataError(f"the evidence gives {name!r} two states, {given[name]!r} and {state!r}; give one.")
        given[name] = state
    if not names and not mpe:
        raise DataError("name at least one variable to query.")
    if mpe:
        result = model.map_query(names or None, given)
        if json_output:
            typer.echo(json.dumps({"evidence": given, "map": result}, indent=2))
        else:
            _print_fields([(v, s) for v, s in result.items()])
        return
    report = {}
    for name in names:
        kw = {} if method == "exact" else {"n_samples": n_samples, "random_state": seed}
        table = model.query(name, given, method=method, **kw)
        report[name] = table
    if json_output:
        payload = {"evidence": given, "method": method,
                   "posterior": {v: t.to_dict() for v, t in report.items()}}
        if method not in ("exact", "loopy_bp"):
            payload["standard_error"] = {v: dict(zip(t.state_names[v], map(float, t.standard_error), strict=False))
                                         for v, t in report.items()}
        typer.echo(json.dumps(payload, indent=2))
        return
    condition = ", ".join(f"{k}={v}" for k, v in given.items())
    for name, table in report.items():
        typer.echo(f"P({name}{' | ' + condition if condition else ''})  [{method}]")
        rows = []
        for i, (state, p) in enumerate(table.to_dict().items()):
            se = f"  (se {table.standard_error[i]:.2g})" if table.standard_error is not None else ""
            rows.append((f"  {state}", f"{p:.6f}{se}"))
        _print_fields(rows)


def sample_network(model: Any, n_samples: int, seed: int | None, out: Path | None) -> None:
    """``genlab sample`` for a Bayesian network: CSV of state names, one column per variable (stdout or ``out``)."""
    frame = model.sample(n_samples, random_state=seed)
    write_records(frame, out)
    if out is not None:
        typer.echo(f"wrote {n_samples} samples ({frame.shape[1]} variables) to {out}")
