from incidents.web.summaries.views import blueprint

__all__ = ["blueprint"]
