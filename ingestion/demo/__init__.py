"""Demo company generator: a realistic, deterministic landing zone for the pipeline."""

from ingestion.demo.generator import GenerationSummary, default_as_of, generate_company, load_plan

__all__ = ["GenerationSummary", "default_as_of", "generate_company", "load_plan"]
