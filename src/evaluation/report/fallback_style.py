"""The style sheet of the fallback's HTML (Quarto's HTML has its own theme): readable body,
tables and captions, the sticky synthetic-data banner and the published-figures notice."""

from __future__ import annotations

from evaluation.report.banner import NOTICE_CSS

CSS = (
    """
body { font-family: 'DejaVu Sans', Arial, sans-serif; max-width: 52rem; margin: 0 auto;
       padding: 0 1rem 4rem; line-height: 1.5; color: #111; }
table { border-collapse: collapse; margin: 1rem 0; font-size: .9rem; }
th, td { border-bottom: 1px solid #bbb; padding: .25rem .6rem; }
th { border-bottom: 2px solid #333; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; }
figcaption, caption { font-size: .9rem; color: #333; text-align: left; }
.callout-warning { border-left: 6px solid #333; background: #f1f1f1; padding: .5rem 1rem;
                   margin: 1rem 0; }
.synthetic-banner { position: sticky; top: 0; z-index: 10; background: #222; color: #fff;
                    text-align: center; padding: .35rem; font-weight: bold; font-size: .9rem; }
@media print { .synthetic-banner { position: static; } }
"""
    + NOTICE_CSS
)
