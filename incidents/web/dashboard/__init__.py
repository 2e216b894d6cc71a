from incidents.web.dashboard.views import blueprint

__all__ = ["blueprint"]
