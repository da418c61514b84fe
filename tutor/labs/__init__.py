"""The analyses the notebooks call: experiments made of several runs of a stage."""
