"""Stage 6: what a coach looks at, made from a finished run folder.

``overlay`` draws one frame; ``render`` the annotated video; ``clips`` one
clip per event; ``privacy`` blurs bystanders' faces; ``report`` the HTML
report (``report_svg`` its timeline); ``text`` draws Chinese and English.
"""
