"""Labels: a project's coloured labels, which its cards hold."""
