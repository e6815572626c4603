"""Benchmark of a student's run: both solution notebooks, top to bottom, on the student budget.

Executes solutions/<assignment>/*.ipynb as a student would run them on a laptop (a Jupyter
kernel, `COURSE_BUDGET=student`, the course config), and records per notebook the seconds of
each section (the code cells under each markdown heading), the quality figures the questions
ask the students to discuss, and how many TensorFlow log lines reached an output (the goal: 0).
Writes bench/results/student_run.json:

    {"<assignment>": {"seconds": .., "sections": {heading: seconds}, "figures": {..},
                      "tensorflow_log_lines": 0},
     "machine": .., "cores": .., "gpu": .., "date": ..}

The notebooks quote the figures as what a healthy run looks like on the laptop budget
(`QUOTES`); tests/test_student_run.py checks that the quotes are those measured here.

    COURSE_DATA_DIR=/path/to/data .venv/bin/python bench/student_run.py [--only generative]

About 15 minutes per notebook on a 2-core CPU.
"""

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import nbformat

from course_utils.config import repo_root
from course_utils.tools.semesters import _cell_seconds, run_notebook, tensorflow_log_lines

RESULTS = Path(__file__).resolve().parent / "results" / "student_run.json"
NOTEBOOKS = {"generative": "generative_models.ipynb", "seq2seq": "seq2seq_arithmetic.ipynb"}

# The figures, as expressions evaluated in the notebook's kernel after its last cell
FIGURES = {
    "generative": {
        "cae_test_bce_per_pixel": "cae_history.history['val_loss'][-1]",
        "cae_colour_kept": "colour['CAE']",
        "vae_colour_kept": "colour['VAE']",
        "vae_reconstruction": "vae_history.history['val_reconstruction'][-1]",
        "vae_kl": "vae_history.history['val_kl'][-1]",
        "gan_d_loss": "gan_history.history['d_loss']",
        "gan_g_loss": "gan_history.history['g_loss']",
        "gan_lr_final_losses": "{name: [h.history['d_loss'][-1], h.history['g_loss'][-1]] "
                               "for name, (h, _) in lr_runs.items()}",
        "fashion_dense_ae_test_bce": "ae_histories['dense'].history['val_loss'][-1]",
        "fashion_cnn_ae_test_bce": "ae_histories['CNN'].history['val_loss'][-1]",
        "fashion_vae_reconstruction": "f_vae_history.history['val_reconstruction'][-1]",
        "fashion_vae_kl": "f_vae_history.history['val_kl'][-1]",
        "fashion_gan_d_loss": "f_gan_history.history['d_loss']",
        "fashion_gan_g_loss": "f_gan_history.history['g_loss']",
        "frechet_samples": "n",
        "frechet_real": "scores['real (train)']",
        "frechet_vae": "scores['VAE']",
        "frechet_gan": "scores['GAN']",
    },
    "seq2seq": {
        "text2text_exact": "{f'{f:.0%}': r[2] for f, r in results.items()}",
        "image2text_exact": "image_score",
        "text2image_semantic": "semantic",
        "deeper_exact": "{f'{k} layer(s)': v for k, v in deeper.items()}",
        "deeper_seconds": "{f'{k} layer(s)': v for k, v in deeper_seconds.items()}",
    },
}

# What the notebooks say a healthy laptop run reaches: (assignment, figure, how it is written
# in the source notebook's markdown); the figure may be a value or a {key: value} table's entry.
QUOTES = [
    ("generative", "cae_colour_kept", "the CAE keeps about {:.0%} of the colour"),
    ("generative", "vae_colour_kept", "the VAE about {:.0%}"),
    ("generative", "frechet_real", "real images score about {:.1f}"),
    ("generative", "frechet_vae", "the VAE about {:.0f}"),
    ("generative", "frechet_gan", "the DCGAN about {:.0f}"),
    ("seq2seq", ("text2text_exact", "50%"), "about {:.0%} exact at 50%"),
    ("seq2seq", ("text2text_exact", "25%"), "{:.0%} at 25%"),
    ("seq2seq", ("text2text_exact", "10%"), "{:.0%} at 10%"),
    ("seq2seq", "image2text_exact", "image2text reaches about {:.0%}"),
    ("seq2seq", "text2image_semantic", "about {:.0%} of the drawn answers"),
    ("seq2seq", ("deeper_exact", "1 layer(s)"), "25% from about {:.0%} to"),
    ("seq2seq", ("deeper_exact", "2 layer(s)"), "to {:.0%}, for about"),
]

_MARK = "STUDENT-RUN-FIGURES "


def quoted(assignment: str, figure, template: str, results: dict) -> str:
    """The sentence `template` with the measured value of `figure` in it."""
    name, key = figure if isinstance(figure, tuple) else (figure, None)
    value = results[assignment]["figures"][name]
    return template.format(value[key] if key is not None else value)


def notebook_text(assignment: str) -> str:
    """The source notebook's markdown, its white space collapsed (a quote may span two lines)."""
    nb = nbformat.read(repo_root() / "source" / assignment / NOTEBOOKS[assignment], as_version=4)
    return " ".join(" ".join(c.source for c in nb.cells if c.cell_type == "markdown").split())


def stale_quotes(results: dict) -> list[str]:
    """The sentences the source notebooks should say, measured, and do not."""
    return [sentence for assignment, figure, template in QUOTES if assignment in results
            if (sentence := quoted(assignment, figure, template, results)) not in notebook_text(assignment)]


# The goals for a student's run (printed, not enforced: benchmarks measure)
GOALS = [
    ("generative", "seconds", lambda s: s <= 15.5 * 60, "the notebook runs in about 15 minutes"),
    ("seq2seq", "seconds", lambda s: s <= 15.5 * 60, "the notebook runs in about 15 minutes"),
    ("generative", "frechet_gan", lambda f: f <= 15, "the Fashion DCGAN's Fréchet score is at most 15"),
    ("generative", "vae_colour_kept", lambda c: c > 0.2, "the VAE keeps the shapes' colours"),
    ("generative", "tensorflow_log_lines", lambda n: n == 0, "no TensorFlow log line in any output"),
    ("seq2seq", "tensorflow_log_lines", lambda n: n == 0, "no TensorFlow log line in any output"),
]


def sections(nb) -> dict[str, float]:
    """Seconds of the code cells under each markdown heading (the nearest one above), in order."""
    out, heading = {}, "(top)"
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            lines = [line for line in cell.source.splitlines() if line.startswith("#")]
            heading = lines[0].lstrip("#").strip() if lines else heading
        elif cell.cell_type == "code":
            out[heading] = round(out.get(heading, 0.0) + _cell_seconds(cell), 1)
    return out


def run(assignment: str) -> dict:
    """Execute the solution notebook of `assignment` on the student budget; its entry."""
    nb = nbformat.read(repo_root() / "solutions" / assignment / NOTEBOOKS[assignment], as_version=4)
    figures = "{" + ", ".join(f"{k!r}: {v}" for k, v in FIGURES[assignment].items()) + "}"
    nb.cells.append(nbformat.v4.new_code_cell(
        f"import json as _json\nprint({_MARK!r} + _json.dumps({figures}, default=float))"))
    with tempfile.TemporaryDirectory(prefix="student-run-") as scratch:
        path = Path(scratch) / NOTEBOOKS[assignment]
        nbformat.write(nb, path)
        result = run_notebook(path, repo_root() / "course.toml", budget="student")
    if not result.ok:
        raise SystemExit(f"{assignment}: {result.error[-3000:]}")
    executed = result.executed
    printed = "".join(o.get("text", "") for o in executed.cells[-1].outputs if o.get("output_type") == "stream")
    values = json.loads(printed.split(_MARK, 1)[1])
    executed.cells.pop()
    noise = [line for _, line in tensorflow_log_lines(executed)]
    return {"seconds": round(result.seconds, 1), "sections": sections(executed),
            "figures": _rounded(values), "tensorflow_log_lines": len(noise), "tensorflow_log_examples": noise[:3]}


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _gpu() -> str | None:
    try:
        import subprocess

        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=list(NOTEBOOKS), action="append", help="run only these notebooks")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"the results file (default {RESULTS})")
    args = parser.parse_args()
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    for assignment in args.only or list(NOTEBOOKS):
        entry = run(assignment)
        results[assignment] = entry
        print(f"{assignment}: {entry['seconds']:.0f} s, {entry['tensorflow_log_lines']} TensorFlow log lines")
        for heading, seconds in entry["sections"].items():
            print(f"    {seconds:7.1f} s  {heading}")
        for name, value in entry["figures"].items():
            print(f"    {name:28} {value}")
    results.update(machine=f"{platform.machine()} {platform.processor() or ''}".strip(), cores=os.cpu_count(),
                   gpu=_gpu(), date=datetime.date.today().isoformat())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")   # sections in the notebook's order
    for assignment, name, met, goal in GOALS:
        if assignment in results:
            entry = results[assignment]
            value = entry.get(name, entry["figures"].get(name))
            print(f"{'met ' if met(value) else 'MISSED'}  {assignment}: {goal} ({name} = {value})")
    for sentence in stale_quotes(results):
        print(f"the source notebook should say {sentence!r} (measured now)", file=sys.stderr)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
